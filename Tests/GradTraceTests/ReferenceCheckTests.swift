import Testing
import GradTrace

/// ReferenceCheck: a framework's gradients against GradTrace's, element by element.
@Suite struct ReferenceCheckTests {
    let ours = Tensor(shape: [4], data: [2.0, -1.0, 3e-7, 0])

    func check(_ theirs: [Double], tolerance: Double) throws -> ReferenceCheck {
        try ReferenceCheck(reference: ReferenceGradients(grads: [("w", Tensor(shape: [4], data: theirs))], tolerance: tolerance),
                           gradients: [("w", ours)])
    }

    @Test func float64ReferencesAreHeldToRelativeAgreement() throws {
        // Rounding noise on an element below a millionth of the largest (3.3e-9 of it) is measured against that floor.
        #expect(try check([2.0, -1.0, 3e-7 + 1e-15, 1e-16], tolerance: 1e-9).passed)
        let off = try check([2.0, -1.0 + 1e-8, 3e-7, 0], tolerance: 1e-9)
        #expect(!off.passed && off.rows[0].worstIndex == 1)
    }

    @Test func float32ReferencesAreHeldToTheirRoundingOfTheLargestGradient() throws {
        // float32 rounding: 2e-7 of the largest gradient everywhere, 100% of the tiny element.
        let rounded = try check([2.0 + 4e-7, -1.0 - 4e-7, 7e-7, 4e-7], tolerance: 1e-3)
        #expect(rounded.passed, "\(rounded.rows)")
        #expect(rounded.rows[0].maxDifference <= 2e-4)
        // A real disagreement (1% of the largest gradient) still fails.
        #expect(!(try check([2.0, -1.02, 3e-7, 0], tolerance: 1e-3)).passed)
        #expect(!(try check([2.0, -1.0, 0.004, 0], tolerance: 1e-3)).passed)
    }

    @Test func aGradientThatIsNoiseOnBothSidesAgreesWhenTheGraphHasRealOnes() throws {
        // An attention key's bias: zero in theory, 1e-19 of rounding on each side, next to gradients of 0.1.
        let reference = ReferenceGradients(grads: [("w", Tensor(shape: [2], data: [0.1, -0.05])),
                                                   ("k.bias", Tensor(shape: [2], data: [5.7e-19, -2e-19]))], tolerance: 1e-9)
        let same = try ReferenceCheck(reference: reference, gradients: [("w", Tensor(shape: [2], data: [0.1, -0.05])),
                                                                        ("k.bias", Tensor(shape: [2], data: [-1.1e-19, 3e-19]))])
        #expect(same.passed, "\(same.rows)")
        // A small gradient that really differs (1e-12 against 2e-12, far above 1e-15 of the largest) still fails.
        let off = try ReferenceCheck(reference: ReferenceGradients(grads: [("w", Tensor(shape: [2], data: [0.1, -0.05])),
                                                                           ("k.bias", Tensor(shape: [2], data: [1e-12, 0]))], tolerance: 1e-9),
                                     gradients: [("w", Tensor(shape: [2], data: [0.1, -0.05])), ("k.bias", Tensor(shape: [2], data: [2e-12, 0]))])
        #expect(!off.passed && off.rows[1].name == "k.bias")
    }
}
