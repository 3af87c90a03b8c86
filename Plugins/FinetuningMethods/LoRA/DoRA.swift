// DoRA (use_dora, Liu et al. 2024, as PEFT computes it): the LoRA linear rescaled per output row by the
// magnitude vector m over the row norms of the adapted weight, those norms held constant in backward.
import FactoryPluginKit

extension LoRAMethod {
    /// DoRA's output from the plain LoRA pieces: base + (m/‖W + s·BA‖ − 1) ⊙ W x' + (m/‖·‖) ⊙ update.
    func doraLinear(_ name: String, base: HostTensor, input: HostTensor, dropped: Bool, update: HostTensor,
                    a: HostTensor, b: HostTensor, scaling: Float) throws -> HostTensor {
        guard let w = try Engine.parameter(name + ".weight"), let m = try Engine.parameter(name + ".lora_magnitude_vector") else {
            throw PluginError.notFound("lora (DoRA): '\(name).weight' or its magnitude vector is not registered")
        }
        let bias = try Engine.parameter(name + ".bias")
        // ‖W + s·BA‖ per output row, a constant for backward (PEFT detaches it)
        let norms = try Engine.withoutGrad { () throws -> HostTensor in
            let combined = try Engine.values(try Engine.add(w, try Engine.scale(try Engine.matmul(b, a), scaling)))
            let shape = try Engine.shape(w)
            let (rows, cols) = (shape[0], shape[1])
            return try Engine.new([rows], (0..<rows).map { r in
                var sum: Float = 0
                for c in 0..<cols { sum += combined[r * cols + c] * combined[r * cols + c] }
                return sum.squareRoot()
            })
        }
        let ratio = try Engine.div(m, norms)
        // W x' without bias: the base output less its bias, or (with dropout) W applied to x' itself
        let plain = dropped ? try Engine.linear(input, weight: w) : (try bias.map { try Engine.sub(base, $0) } ?? base)
        return try Engine.add(try Engine.add(base, try Engine.mul(try Engine.addScalar(ratio, -1), plain)), try Engine.mul(ratio, update))
    }
}
