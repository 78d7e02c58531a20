import Foundation
import GRDB

/// The server's SQLite database: one `DatabasePool` (WAL, concurrent readers, one serialized writer) whose writer
/// runs with `synchronous=FULL`, so every commit (an answered callback's record) is synced to disk before the
/// answer leaves.
///
/// Every write method is one transaction that keeps the ledger's invariants; reads go through ``reader``.
/// See <https://swiftpackageindex.com/groue/GRDB.swift/documentation/grdb/concurrency>.
public struct AppDatabase: Sendable {
    let writer: DatabasePool
    public let path: String
    /// The debit-hook decisions waiting for the writer (group commit); shared by every copy of this value.
    let decisions = DecisionQueue()

    /// Opens (creating when needed) the database file and its folder. Does not migrate: see ``migrate()``.
    public static func open(path: String) throws -> AppDatabase {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw DatabaseOpenError(path: path, reason: "cannot create folder \(folder.path): \(error.localizedDescription)")
        }
        do {
            let pool = try DatabasePool(path: url.path, configuration: makeConfiguration())
            // GRDB's pool turns on WAL for its writer *after* `prepareDatabase` has run, and sets
            // `synchronous=NORMAL` there (GRDB/Core/Database.swift, setUpWALMode): a commit is then synced only at
            // checkpoints, and a power cut can lose approvals already answered. The writer is one long-lived
            // connection, so setting FULL on it here stays in force. `writerSynchronous()` reads it back.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            return AppDatabase(writer: pool, path: url.path)
        } catch {
            throw DatabaseOpenError(path: path, reason: "\(error)")
        }
    }

    /// The connection setup shared by the server, the CLI and the tests.
    public static func makeConfiguration() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        return configuration
    }

    /// The writer connection's `PRAGMA synchronous` (2 is FULL: every commit synced), read on the writer itself.
    public func writerSynchronous() async throws -> Int {
        try await writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Hands every SQL statement the writer connection runs from now on to `handler` (its text, with `?` for the
    /// values): the hot-path tests read the query plan of each.
    package func traceWriter(_ handler: @escaping @Sendable (String) -> Void) async throws {
        try await writer.writeWithoutTransaction { db in
            db.trace(options: .statement) { event in
                if case .statement(let statement) = event { handler(statement.sql) }
            }
        }
    }

    /// Read access for queries (ops, CLI, tests).
    public var reader: any DatabaseReader { writer }

    /// Closes the pool (the WAL is checkpointed); used at shutdown.
    public func close() throws {
        try writer.close()
    }
}

/// The database file could not be opened; names the path.
public struct DatabaseOpenError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "database.path: cannot open \(path): \(reason)" }
}

// MARK: - Migrations

extension AppDatabase {
    /// Applies pending migrations; returns the names of those that ran (empty when already current).
    /// Refuses a database written by a newer version of `aeps`.
    @discardableResult
    public func migrate() throws -> [String] {
        let migrator = Self.migrator
        let before = try writer.read { db in
            guard try !migrator.hasBeenSuperseded(db) else { throw SupersededDatabaseError(path: path) }
            return try migrator.appliedIdentifiers(db)
        }
        try migrator.migrate(writer)
        return migrator.migrations.filter { !before.contains($0) }
    }

    /// Migrations not yet applied to this file.
    public func pendingMigrations() async throws -> [String] {
        let migrator = Self.migrator
        return try await writer.read { db in
            let applied = try migrator.appliedIdentifiers(db)
            return migrator.migrations.filter { !applied.contains($0) }
        }
    }

    /// True when the file was migrated by a newer `aeps` than this one.
    public func isSuperseded() throws -> Bool {
        try writer.read { db in try Self.migrator.hasBeenSuperseded(db) }
    }
}

public struct SupersededDatabaseError: Error, CustomStringConvertible {
    public let path: String
    public init(path: String) { self.path = path }
    public var description: String {
        "database.path: \(path) was written by a newer version of aeps; refusing to use it with this one"
    }
}

extension AppDatabase {
    /// Direct write access for tests and the benchmark, which must set up states no public method produces
    /// (a newer schema, a million rows of history).
    package func writerForTests(_ updates: @escaping @Sendable (Database) throws -> Void) async throws {
        try await writer.write(updates)
    }
}
