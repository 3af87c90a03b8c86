// A loaded model with a fine-tuning method applied: the method's plan carried out on the
// model's parameter store (added tensors created or loaded, trainable ones marked) and the
// host's linear hook routed to the method for the names it adapts.
import FactoryEngine
import FactoryFormats
import FactoryHost
import FactoryJSON
import FactoryPipeline
import Foundation

/// A trainable tensor: its name in the store, how it is saved, its learning-rate multiplier.
public struct TrainableTensor {
    public let name: String
    public let savedAs: String
    public let tensor: Tensor
    public let lrScale: Double
}

public final class AdaptedModel {
    public let model: LoadedModel
    public let method: FinetuningMethodInstance
    public let declaration: FinetuningMethodDeclaration
    public let plan: JSON
    public private(set) var trainable: [TrainableTensor] = []
    let adapted: Set<String>

    /// Applies `method` to `model`. Added tensors come from `adapterDirectory` when given (PEFT
    /// names), else are initialised from `seed` (Kaiming-uniform A, zero B).
    /// `training`: the added tensors will also carry gradients and AdamW moments (for the memory check).
    public init(model: LoadedModel, method: FinetuningMethodInstance, adapterDirectory: String? = nil, seed: UInt64 = 42,
                training: Bool = false) throws {
        self.model = model
        self.method = method
        declaration = try method.declaration()
        plan = try method.plan(model: model.description)
        let (count, bytes) = MemoryEstimate.addedTensors(plan, training: training)
        let available = MemoryEstimate.available()
        guard bytes < available else {
            throw TrainingError("finetuning_type \(method.component.name): its \(count) added tensors need \(MemoryEstimate.gib(bytes))"
                                + (training ? " with their gradients and optimizer moments" : "")
                                + ", more than the \(MemoryEstimate.gib(available)) available; lower the rank or target fewer modules")
        }
        adapted = Set((plan["adapted_linears"]?.arrayValue ?? []).compactMap(\.stringValue))
        let saved = try adapterDirectory.map { dir -> SafetensorsFile in
            let path = dir + "/adapter_model.safetensors"
            guard FileManager.default.fileExists(atPath: path) else { throw TrainingError("\(dir): no adapter_model.safetensors (adapter_name_or_path)") }
            return try SafetensorsFile(path: path)
        }
        var rng = SplitMix64(seed: seed)
        var seen = Set<ObjectIdentifier>()
        for entry in plan["added"]?.arrayValue ?? [] {
            guard let name = entry["name"]?.stringValue, let shape = entry["shape"]?.arrayValue?.compactMap({ $0.intValue.map(Int.init) }),
                  shape.count == 1 || shape.count == 2 else { throw TrainingError("\(method.component.name): plan lists an added tensor without name or shape") }
            let savedAs = entry["saved_as"]?.stringValue ?? name
            let tensor = Tensor(shape: shape, zeroed: true)
            if let saved {
                guard let stored = saved.tensors[savedAs] else { throw TrainingError("\(saved.path): no tensor '\(savedAs)' (the adapter does not match this model or lora_target)") }
                guard stored.shape == shape else { throw TrainingError("\(saved.path): '\(savedAs)' has shape \(stored.shape), this model needs \(shape)") }
                let values = try saved.float32(savedAs)
                values.withUnsafeBufferPointer { tensor.data.update(from: $0.baseAddress!, count: values.count) }
            } else if let initialiser = entry["init"]?.stringValue {
                try AddedTensorInit.fill(tensor, initialiser, parameters: model.parameters, rng: &rng, method: method.component.name)
            }
            tensor.requiringGrad()
            tensor.name = name
            model.parameters[name] = tensor
            seen.insert(ObjectIdentifier(tensor))
            trainable.append(TrainableTensor(name: name, savedAs: savedAs, tensor: tensor, lrScale: entry["lr_scale"]?.doubleValue ?? 1))
        }
        for entry in plan["trainable"]?.arrayValue ?? [] {
            // the method names the tensor on disk ({name, saved_as}); a bare name is the 1.x form (see finetuning_method.h)
            guard let name = entry.stringValue ?? entry["name"]?.stringValue else {
                throw TrainingError("\(method.component.name): plan lists a trainable entry without a name")
            }
            let legacyName = declaration.adapterFormat == "peft" ? "base_model.model." + name : name
            guard let tensor = model.parameters[name] else { throw TrainingError("\(method.component.name): plan trains '\(name)', which the model does not have") }
            guard seen.insert(ObjectIdentifier(tensor)).inserted else { continue }  // tied weights train once
            tensor.requiringGrad()
            trainable.append(TrainableTensor(name: name, savedAs: entry["saved_as"]?.stringValue ?? legacyName, tensor: tensor, lrScale: 1))
        }
    }

    /// Routes linear(name, x) to the method for adapted names while `body` runs; `head`, when
    /// given, replaces the LM head by the fused loss.
    public func withHooks<T>(head: LossTargets? = nil, _ body: () throws -> T) throws -> T {
        let previous = EngineHooks.linear
        let method = self.method, adapted = self.adapted, store = model.parameters
        EngineHooks.linear = { name, x in
            if let head, name == "lm_head" {
                guard let w = store["lm_head.weight"] ?? store["lm_head"] else { throw HookError("lm_head: the model has no head weight") }
                return try LossHead.loss(hidden: x, weight: w, head)
            }
            return adapted.contains(name) ? try method.linear(name, x) : try EngineHooks.baseLinear(name, x)
        }
        defer { EngineHooks.linear = previous }
        return try body()
    }

    /// Number of trainable elements.
    public var trainableCount: Int { trainable.reduce(0) { $0 + $1.tensor.count } }
}

/// How a fine-tuning method's plan initialises an added tensor ("init" in the plan).
enum AddedTensorInit {
    /// "zeros"; "kaiming_uniform" (PEFT's LoRA A: U(−1/√in, 1/√in), in = shape[1]); "row_norm:P" (the
    /// L2 norm of each row of parameter P: DoRA's magnitude).
    static func fill(_ t: Tensor, _ initialiser: String, parameters: ParameterStore, rng: inout SplitMix64, method: String) throws {
        switch initialiser {
        case "zeros": break
        case "kaiming_uniform":
            let bound = 1 / Float(t.shape.last ?? 1).squareRoot()
            for i in 0..<t.count { t.data[i] = (Float(rng.nextUnit()) * 2 - 1) * bound }
        case let s where s.hasPrefix("row_norm:"):
            let source = String(s.dropFirst("row_norm:".count))
            guard let w = parameters[source], w.rank == 2, w.shape[0] == t.count else {
                throw TrainingError("\(method): init \(s) names no [\(t.count), in] parameter of this model")
            }
            let c = w.contiguous(), cols = w.shape[1]
            for r in 0..<t.count {
                var sum: Float = 0
                for j in 0..<cols { sum += c.data[r * cols + j] * c.data[r * cols + j] }
                t.data[r] = sum.squareRoot()
            }
        default: throw TrainingError("\(method): unknown init '\(initialiser)' for an added tensor (zeros, kaiming_uniform, row_norm:NAME)")
        }
    }
}

/// A training failure: one line.
public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

