import EkoSigning

/// Masks personal data and removes secrets from a callback body before it is stored or logged.
///
/// - Aadhaar fields keep their last four digits only, and any run of 12 or more digits anywhere (Aadhaar numbers,
///   but also anything that could be one) is masked to its last four.
/// - Customer mobiles keep their last four digits.
/// - Secrets and credentials (`secret_key`, `request_hash`, access keys, session tokens, passwords) and any
///   biometric/PID data are replaced by `"[redacted]"`.
public enum Redactor {
    static let secretKeys: Set<String> = [
        "secret_key", "secret-key", "request_hash", "access_key", "authenticator_key", "aeps_session",
        "x-aeps-session", "password", "pin", "otp", "pid", "pid_data", "piddata", "pidblock", "biometric",
        "fingerprint", "finger_data", "biometric_data",
    ]
    static let aadhaarKeys: Set<String> = ["aadhar", "aadhaar", "aadhar_number", "aadhaar_number", "adhaar", "uid"]
    static let mobileKeys: Set<String> = ["customer_id", "mobile", "customer_mobile", "mobile_number", "sender_mobile"]

    /// The masked copy of a JSON value.
    public static func mask(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(JSONObject(object.members.map { member in
                JSONObject.Member(key: member.key, value: maskMember(key: member.key.lowercased(), value: member.value))
            }))
        case .array(let items):
            return .array(items.map(mask))
        case .string(let text):
            return .string(maskDigitRuns(text))
        case .number(let literal):
            let masked = maskDigitRuns(literal)
            return masked == literal ? value : .string(masked)
        case .null, .bool:
            return value
        }
    }

    private static func maskMember(key: String, value: JSONValue) -> JSONValue {
        if secretKeys.contains(key) { return value == .null ? .null : .string("[redacted]") }
        if aadhaarKeys.contains(key), let text = value.scalarText { return .string(lastFour(text)) }
        if mobileKeys.contains(key), let text = value.scalarText { return .string(maskMobile(text)) }
        return mask(value)
    }

    /// The last four digits of an Aadhaar number, e.g. `"XXXX XXXX 1234"` → `"1234"`; nil when there are fewer.
    public static func aadhaarLastFour(_ text: String) -> String? {
        let digits = text.filter(\.isASCIIDigit)
        return digits.count >= 4 ? String(digits.suffix(4)) : nil
    }

    private static func lastFour(_ text: String) -> String {
        aadhaarLastFour(text).map { "XXXXXXXX" + $0 } ?? "XXXX"
    }

    /// `9876543210` → `XXXXXX3210`. Text without at least four digits is fully masked.
    public static func maskMobile(_ text: String) -> String {
        let digits = text.filter(\.isASCIIDigit)
        guard digits.count >= 4 else { return String(repeating: "X", count: text.count) }
        return String(repeating: "X", count: max(digits.count - 4, 0)) + digits.suffix(4)
    }

    /// Masks every run of 12 or more digits, also when written in groups (`1234 5678 9012`, `1234-5678-9012`),
    /// keeping its last four digits.
    public static func maskDigitRuns(_ text: String) -> String {
        var characters = Array(text)
        var index = 0
        while index < characters.count {
            guard characters[index].isASCIIDigit else { index += 1; continue }
            // Extend over digits, allowing one space or hyphen between digits.
            var end = index
            var digitPositions: [Int] = []
            while end < characters.count {
                if characters[end].isASCIIDigit {
                    digitPositions.append(end)
                    end += 1
                } else if (characters[end] == " " || characters[end] == "-"), end + 1 < characters.count,
                    characters[end + 1].isASCIIDigit, digitPositions.count % 4 == 0
                {
                    end += 1
                } else {
                    break
                }
            }
            if digitPositions.count >= 12 {
                for position in digitPositions.dropLast(4) { characters[position] = "X" }
            }
            index = end
        }
        return String(characters)
    }

    /// Text made safe for one log line, a terminal or a CSV cell: printable ASCII kept, everything else (control
    /// characters, escapes, newlines, non-ASCII) written as `\u{XX}`, cut to `limit` characters with `…`.
    public static func printable(_ text: String, limit: Int = 200) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                out += "…"
                break
            }
            if (0x20...0x7E).contains(scalar.value), scalar != "\\" {
                out.unicodeScalars.append(scalar)
            } else if scalar == "\\" {
                out += "\\\\"
            } else {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
            count += 1
        }
        return out
    }
}
