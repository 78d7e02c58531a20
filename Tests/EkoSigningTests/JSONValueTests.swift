import EkoSigning
import Testing

@Suite struct JSONValueTests {
    @Test func numbersKeepTheirLiteralText() throws {
        let value = try JSONValue.parse(#"{"a": 500, "b": 500.00, "c": -0.5e+3, "d": 0}"#)
        #expect(value["a"] == .number("500"))
        #expect(value["b"] == .number("500.00"))
        #expect(value["c"] == .number("-0.5e+3"))
        #expect(value["b"]?.hashText == "500.00")
    }

    @Test func hashTextOfEveryKind() throws {
        let value = try JSONValue.parse(#"{"s": "x y", "t": true, "f": false, "n": null, "o": {"k": [1, "2"]}}"#)
        #expect(value["s"]?.hashText == "x y")
        #expect(value["t"]?.hashText == "true")
        #expect(value["f"]?.hashText == "false")
        #expect(value["n"]?.hashText == "")
        #expect(value["o"]?.hashText == #"{"k":[1,"2"]}"#)
    }

    @Test func membersKeepTheirOrderAndTheLastDuplicateWins() throws {
        let value = try JSONValue.parse(#"{"z": 1, "a": 2, "z": 3}"#)
        #expect(value.objectValue?.keys == ["z", "a", "z"])
        #expect(value["z"] == .number("3"))
        #expect(value.serialized() == #"{"z":1,"a":2,"z":3}"#)
    }

    @Test func escapesAndUnicodeRoundTrip() throws {
        let value = try JSONValue.parse(#"{"s": "q\"b\\s\/n\nt\tu\u00e9\ud83d\ude00 हिंदी"}"#)
        #expect(value["s"] == .string("q\"b\\s/n\nt\tué😀 हिंदी"))
        #expect(try JSONValue.parse(value.serialized()) == value)
        #expect(JSONValue.string("\u{01}").serialized() == #""\u0001""#)
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "01", "1.", "-", "+1", "1e", "tru", "nul", "\"abc",
        "{\"a\" 1}", "[1 2]", "{} {}", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "'a'", "\"a\nb\"", "NaN",
    ])
    func malformedDocumentsAreRejected(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func deepNestingIsRejectedWithoutCrashing() {
        let deep = String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue.parse(fine) }
    }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONValue.parse(#"{"a": tru}"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 9)
            #expect("\(error)".contains("byte 9"))
        }
    }
}
