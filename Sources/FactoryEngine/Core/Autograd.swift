/// One recorded op: its inputs and how to turn the gradient of its output
/// into gradients of its inputs. Nodes are numbered in creation order, so
/// decreasing numbers are a valid reverse topological order.
final class Node {
    nonisolated(unsafe) static var counter = 0
    let id: Int
    let name: String
    var inputs: [Tensor]
    /// Given d(loss)/d(output), returns d(loss)/d(input) per input (nil where none).
    var backward: ((Tensor) -> [Tensor?])?

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        Node.counter += 1
        id = Node.counter
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether ops record the tape. `GradMode.disabled { ... }` is inference (no_grad).
public enum GradMode {
    /// (The current ExecutionContext's `recording`.)
    static var enabled: Bool {
        get { ExecutionContext.current.recording }
        set { ExecutionContext.current.recording = newValue }
    }

    /// Runs `body` without recording (torch.no_grad).
    public static func disabled<T>(_ body: () throws -> T) rethrows -> T {
        let saved = enabled
        enabled = false
        defer { enabled = saved }
        return try body()
    }

    /// Runs `body` recording (inside a checkpoint's recomputation).
    static func recording<T>(_ body: () throws -> T) rethrows -> T {
        let saved = enabled
        enabled = true
        defer { enabled = saved }
        return try body()
    }

    public static var isEnabled: Bool { enabled }

    /// Sets recording on or off and returns the previous setting (for the C ABI's grad_enabled).
    public static func set(_ on: Bool) -> Bool {
        let old = enabled
        enabled = on
        return old
    }

    /// The first failure a plugin-supplied backward reported during the last backward(), if any.
    public static var backwardFailure: String? {
        get { ExecutionContext.current.backwardFailure }
        set { ExecutionContext.current.backwardFailure = newValue }
    }
}

/// Records `output` as computed from `inputs` by an op defined outside the engine
/// (a plugin's custom op). `backward` maps d(loss)/d(output) to one gradient per input.
@discardableResult
public func recordCustom(_ output: Tensor, name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
    output.recorded(name, inputs, backward)
}

extension Tensor {
    /// Records `self` as produced from `inputs` when any of them needs gradients.
    /// Rule for every op: the backward closure captures the tensors it reads
    /// (never raw pointers taken outside it: the pool reuses freed storage at once),
    /// and captures its own output only as `out.detached()` (no cycle through the node).
    /// `backward` receives d(loss)/d(self) and returns one gradient (or nil) per input.
    @discardableResult
    func recorded(_ name: @autoclosure () -> String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.enabled, inputs.contains(where: { $0.requiresGrad }) else { return self }
        requiresGrad = true
        node = Node(name: name(), inputs: inputs, backward: backward)
        return self
    }

    /// Back-propagates from this tensor. Without `gradient` the tensor must hold
    /// one element (a loss) and the seed is 1. Leaf gradients accumulate
    /// (micro-batches add up until zeroGrad); the tape is released afterwards.
    public func backward(_ gradient: Tensor? = nil) {
        precondition(gradient != nil || count == 1, "backward() without a gradient needs a scalar, got shape \(shape)")
        guard requiresGrad else { return }
        let seed = gradient ?? Tensor.full(shape, 1)
        GradMode.disabled {
            guard let root = node else {
                accumulate(seed)
                return
            }
            var nodes: [Int: Node] = [:]
            var stack = [root]
            while let n = stack.popLast() {
                guard nodes[n.id] == nil else { continue }
                nodes[n.id] = n
                for input in n.inputs { if let m = input.node { stack.append(m) } }
            }
            var grads: [Int: Tensor] = [root.id: seed]
            for id in nodes.keys.sorted(by: >) {
                let n = nodes[id]!
                guard let g = grads.removeValue(forKey: id), let backward = n.backward else { continue }
                let inputGrads = backward(g)
                for (input, ig) in zip(n.inputs, inputGrads) {
                    guard let ig, input.requiresGrad else { continue }
                    if let m = input.node {
                        grads[m.id] = grads[m.id].map { add($0, ig) } ?? ig
                    } else {
                        input.accumulate(ig)
                    }
                }
                n.backward = nil
                n.inputs = []
            }
        }
        node = nil
    }

    /// Adds `g` into this leaf's gradient.
    func accumulate(_ g: Tensor) {
        let g = g.shape == shape ? g : g.reshaped(shape)
        if let existing = grad {
            addInPlace(existing, g)
        } else {
            grad = g.contiguousCopy()
        }
        ExecutionContext.current.gradientAccumulated?(self)
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }
}
