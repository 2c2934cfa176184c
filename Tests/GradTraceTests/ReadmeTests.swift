import GradTrace
import Testing

/// The library example of README.md, as written there.
struct ReadmeTests {
    @Test func libraryExample() {
        let tape = Tape()
        let x = tape.input("x", 2), w = tape.input("w", 3)
        let u = (w * x).named("u")
        let L = ((u ** 2 - 10) ** 2).named("L")
        let trace = L.backward()
        #expect("\(L.data) \(w.grad) \(x.grad)" == "676.0 1248.0 1872.0")
        #expect(trace.steps.count == 4)
    }
}
