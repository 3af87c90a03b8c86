import CFactoryABI
import FactoryEngine

/// A plugin-supplied op (quantized matmul, an attention kernel): the host
/// allocates the output, the plugin's forward fills it, and its backward (if
/// any) fills zeroed input gradients when the tape reaches it.
struct CustomOp {
    let name: String
    let forward: factory_custom_forward_fn
    let backward: factory_custom_backward_fn?
    nonisolated(unsafe) let userdata: UnsafeMutableRawPointer?

    func run(_ inputs: [Tensor], outShape: [Int]) throws -> Tensor {
        let out = Tensor(shape: outShape, zeroed: true)
        let (status, slot) = withHandles(inputs + [out]) { handles, err in
            handles.withUnsafeBufferPointer { b in forward(userdata, b.baseAddress, Int32(inputs.count), b[inputs.count], err) }
        }
        guard status == FACTORY_OK.rawValue else {
            throw EngineCallError("custom op '\(name)': \(slot.describe(status: status))", status: FACTORY_ERR_INTERNAL)
        }
        guard let backward else { return out }
        let saved = out.detached()
        let op = self
        return recordCustom(out, name: name, inputs: inputs) { g in
            let grads = inputs.map { $0.requiresGrad ? Tensor(shape: $0.shape, zeroed: true) : nil }
            let gc = g.contiguous()
            let gradHandles = grads.map { $0.map { TensorHandles.owned($0) } }
            defer { for h in gradHandles { if let h { TensorHandles.release(h) } } }
            let (status, slot) = op.withHandles(inputs + [saved, gc]) { handles, err in
                handles.withUnsafeBufferPointer { b in
                    gradHandles.withUnsafeBufferPointer { gb in
                        backward(op.userdata, b.baseAddress, Int32(inputs.count), b[inputs.count], b[inputs.count + 1], gb.baseAddress, err)
                    }
                }
            }
            if status != FACTORY_OK.rawValue, GradMode.backwardFailure == nil {
                GradMode.backwardFailure = "custom op '\(op.name)' backward failed: \(slot.describe(status: status))"
            }
            return grads
        }
    }

    /// Calls `body` with temporary owned handles for `tensors` and a fresh error slot.
    private func withHandles(_ tensors: [Tensor], _ body: ([OpaquePointer?], OpaquePointer) -> factory_status_t) -> (factory_status_t, ErrorSlot) {
        let handles: [OpaquePointer?] = tensors.map { TensorHandles.owned($0) }
        defer { for h in handles { if let h { TensorHandles.release(h) } } }
        return ErrorSlot.capture { err in body(handles, err) }
    }
}
