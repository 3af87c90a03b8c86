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
