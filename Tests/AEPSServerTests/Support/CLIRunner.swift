import Foundation
import NIOConcurrencyHelpers
import Testing

/// Runs the real `aeps` executable (built beside the test runner) in a folder of its own.
struct CLIRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    let directory: TemporaryDirectory

    static var executable: URL {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = runner.deletingLastPathComponent()
        // The runner may be inside a bundle folder (`*.xctest/...`); the products folder holds `aeps`.
        while !FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("aeps").path),
            folder.path != "/"
        {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("aeps")
    }

    init() throws {
        directory = try TemporaryDirectory()
    }

    /// Writes `aeps.config` in the runner's folder.
    func writeConfig(_ text: String) throws {
        try text.write(toFile: directory.path("aeps.config"), atomically: true, encoding: .utf8)
    }

    /// Runs `aeps ARGS...` to completion (or until `timeout`, then terminates it).
    func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, timeout: Duration = .seconds(60)
    ) async throws -> Result {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = directory.url
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "EKO_ACCESS_KEY")
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try launch(process)
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                Issue.record("aeps \(arguments.joined(separator: " ")) did not finish in \(timeout)")
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }
}

/// A long-running `aeps` process (e.g. `aeps serve`) whose standard error is collected as it arrives.
final class RunningProcess: Sendable {
    let process: Process
    private let errorText = NIOLockedValueBox("")

    var stderr: String { errorText.withLockedValue { $0 } }

    /// - Parameter wrapper: a program and its arguments to run `aeps` under (e.g. `strace ...`), or none.
    init(_ runner: CLIRunner, _ arguments: [String], environment: [String: String], under wrapper: [String] = []) throws {
        process = Process()
        if let program = wrapper.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(wrapper.dropFirst()) + [CLIRunner.executable.path] + arguments
        } else {
            process.executableURL = CLIRunner.executable
            process.arguments = arguments
        }
        process.currentDirectoryURL = runner.directory.url
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        err.fileHandleForReading.readabilityHandler = { [errorText] handle in
            let data = handle.availableData
            errorText.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        try launch(process)
    }

    /// Waits until standard error contains `text` and returns what follows it on that line.
    func waitFor(_ text: String, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let range = stderr.range(of: text) {
                return String(stderr[range.upperBound...].prefix { $0 != "\n" })
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CommandLineTimeout(waitingFor: text, stderr: stderr)
    }

    /// Sends SIGTERM and waits for the exit status.
    func terminate(timeout: Duration = .seconds(20)) async throws -> Int32 {
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            throw CommandLineTimeout(waitingFor: "exit after SIGTERM", stderr: stderr)
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

struct CommandLineTimeout: Error, CustomStringConvertible {
    let waitingFor: String
    let stderr: String
    var description: String { "gave up waiting for \(waitingFor); stderr:\n\(stderr)" }
}

/// Starts a child process, one at a time across the test run. This does NOT prevent the intermittent SIGSEGV seen
/// in CI inside `Process.run()`: that is swift-corelibs-foundation's over-read of `/proc/self/fd` entries in
/// `findMaximumOpenFromProcSelfFD()` (fixed upstream in swiftlang/swift-corelibs-foundation#5472, after Swift
/// 6.3.1). The cure is launching children without Foundation's `Process` (posix_spawn or swift-subprocess).
func launch(_ process: Process) throws {
    try processLaunchLock.withLock { try process.run() }
}

private let processLaunchLock = NSLock()
