import Testing
import HummingbirdTesting
@Test func nothing() {}
