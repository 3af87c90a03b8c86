// Gradient checkpointing: a block runs without recording; during backward its
// forward is re-run with recording and back-propagated at once. Parameters
// used inside the block receive their gradients during that inner pass.
// Results are identical to running the block normally as long as the block is
// deterministic (dropout takes explicit seeds).

/// Runs `body(inputs)` without keeping its activations; they are recomputed in backward.
public func checkpoint(_ inputs: [Tensor], _ body: @escaping ([Tensor]) -> Tensor) -> Tensor {
    guard GradMode.enabled else { return body(inputs) }
    let output = GradMode.disabled { body(inputs) }
    let result = output.detached()
    result.requiresGrad = true
    result.node = Node(name: "checkpoint", inputs: inputs) { g in
        let leaves = inputs.map { input -> Tensor in
            let leaf = input.detached()
            leaf.requiresGrad = input.requiresGrad
            return leaf
        }
        let recomputed = GradMode.recording { body(leaves) }
        recomputed.backward(g)
        return leaves.map { $0.requiresGrad ? $0.grad : nil }
    }
    return result
}

/// Whether checkpoint blocks actually checkpoint (`disable_gradient_checkpointing` turns it off).
public enum GradientCheckpointing {
    nonisolated(unsafe) public static var enabled = true
}

/// `checkpoint` for a block that can fail (a plugin's): a failure in forward throws; a failure
/// while recomputing in backward is reported through GradMode.backwardFailure.
public func checkpoint(_ input: Tensor, _ body: @escaping (Tensor) throws -> Tensor) throws -> Tensor {
    guard GradMode.enabled && GradientCheckpointing.enabled else { return try body(input) }
    let output = try GradMode.disabled { try body(input) }
    let result = output.detached()
    result.requiresGrad = true
    let context = EngineContext.capture()
    result.node = Node(name: "checkpoint", inputs: [input]) { g in
        let leaf = input.detached()
        leaf.requiresGrad = input.requiresGrad
        do {
            let recomputed = try context.installed { try GradMode.recording { try body(leaf) } }
            recomputed.backward(g)
        } catch {
            if GradMode.backwardFailure == nil { GradMode.backwardFailure = "checkpointed block: \(error)" }
            return [nil]
        }
        return [leaf.requiresGrad ? leaf.grad : nil]
    }
    return result
}
