import Foundation
@testable import GradTrace
import Testing

/// The differential oracle (python/oracle.py, run against JAX by scripts/test-python.sh) draws programs over
/// every function of the language: a function added to the registry without an oracle entry (or a
/// stated exclusion) fails here.
struct OracleCoverageTests {
    @Test func everyFunctionHasAnOracleEntry() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("python/oracle.py"), encoding: .utf8)
        // The keys of UNARY, ORACLE and EXCLUDED are written "name": …
        let missing = TensorFunctions.allNames.filter { !text.contains("\"\($0)\":") }
        #expect(missing.isEmpty, "functions without an entry in python/oracle.py (ORACLE, UNARY or EXCLUDED): \(missing)")
        #expect(TensorFunctions.allNames.count > 40)
    }
}
