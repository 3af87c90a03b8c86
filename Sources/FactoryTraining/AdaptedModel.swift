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
    /// Further names it is saved under (a tied twin PEFT saves too); never loaded from.
    public var alsoSavedAs: [String] = []
}

public final class AdaptedModel {
    public let model: LoadedModel
    public let method: FinetuningMethodInstance
    public let declaration: FinetuningMethodDeclaration
    public let plan: JSON
    public private(set) var trainable: [TrainableTensor] = []
    let adapted: Set<String>

    /// Applies `method` to `model`. Added tensors come from `adapterDirectory` when given (PEFT
    /// names; a llama.cpp LoRA GGUF when it ends in .gguf), else are initialised from `seed`
    /// (Kaiming-uniform A, zero B).
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
        let saved = try adapterDirectory.map { try savedAdapterTensors($0, model: model) }
        var rng = SplitMix64(seed: seed)
        var seen = Set<ObjectIdentifier>(), loaded = Set<String>()
        for entry in plan["added"]?.arrayValue ?? [] {
            guard let name = entry["name"]?.stringValue, let shape = entry["shape"]?.arrayValue?.compactMap({ $0.intValue.map(Int.init) }),
                  shape.count == 1 || shape.count == 2 else { throw TrainingError("\(method.component.name): plan lists an added tensor without name or shape") }
            let savedAs = entry["saved_as"]?.stringValue ?? name
            let tensor = Tensor(shape: shape, zeroed: true)
            if let saved {
                guard saved.shape(of: savedAs) != nil else { throw TrainingError("\(saved.path): no tensor '\(savedAs)' (the adapter does not match this model or lora_target)") }
                try AdaptedModel.load(savedAs, from: saved, into: tensor)
                loaded.insert(savedAs)
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
            guard var tensor = model.parameters[name] else {
                let packed = model.parameters.packed[name] != nil ? " dense (it is quantized here)" : ""
                throw TrainingError("\(method.component.name): plan trains '\(name)', which the model does not have\(packed)")
            }
            if entry["untie"]?.boolValue == true { tensor = AdaptedModel.untie(name, in: model.parameters) }
            guard seen.insert(ObjectIdentifier(tensor)).inserted else { continue }  // tied weights train once
            let savedAs = entry["saved_as"]?.stringValue ?? legacyName
            if let saved {
                guard saved.shape(of: savedAs) != nil else {
                    throw TrainingError("\(saved.path): no tensor '\(savedAs)', which this adapter trains (modules_to_save or bias)")
                }
                try AdaptedModel.load(savedAs, from: saved, into: tensor)
                loaded.insert(savedAs)
            }
            tensor.requiringGrad()
            trainable.append(TrainableTensor(name: name, savedAs: savedAs, tensor: tensor, lrScale: 1,
                                             alsoSavedAs: entry["also_saved_as"]?.arrayValue?.compactMap(\.stringValue) ?? []))
        }
        if let saved { try loadBaseTensors(saved, except: loaded) }
    }

    /// The adapter file's other tensors, as PEFT loads them (into the base model, by name): a tensor
    /// named "base_model.model.<parameter>" overwrites that parameter. Any other tensor is refused:
    /// an adapter is applied whole or not at all.
    func loadBaseTensors(_ saved: SavedAdapterTensors, except loaded: Set<String>) throws {
        for key in saved.tensorNames.sorted() where !loaded.contains(key) {
            let prefix = "base_model.model."
            guard key.hasPrefix(prefix), let tensor = model.parameters[String(key.dropFirst(prefix.count))] else {
                throw TrainingError("\(saved.path): tensor '\(key)' is neither part of this adapter's plan nor a parameter of this model; "
                                    + "the adapter is refused rather than applied in part")
            }
            try AdaptedModel.load(key, from: saved, into: tensor)
        }
    }

    /// Copies a saved tensor into `tensor` (same shape) in place: whoever holds `tensor` sees the values.
    static func load(_ key: String, from saved: SavedAdapterTensors, into tensor: Tensor) throws {
        guard let shape = saved.shape(of: key) else { throw TrainingError("\(saved.path): no tensor '\(key)'") }
        guard shape == tensor.shape else { throw TrainingError("\(saved.path): '\(key)' has shape \(shape), this model needs \(tensor.shape)") }
        let values = try saved.float32(key)
        guard tensor.isContiguous else { throw TrainingError("\(saved.path): '\(key)' targets a strided view; it cannot be loaded in place") }
        values.withUnsafeBufferPointer { tensor.data.update(from: $0.baseAddress!, count: values.count) }
    }

    /// Gives `name` storage that no other parameter name shares (PEFT copies a modules_to_save
    /// module, so a trained copy of a tied head no longer moves the embeddings). Of the names
    /// sharing one tensor, the first stored keeps it (the model family holds it through a handle);
    /// later ones are read by name, so each gets its own copy. Returns `name`'s tensor.
    static func untie(_ name: String, in store: ParameterStore) -> Tensor {
        let aliases = store.aliases(of: name)
        guard let shared = store[name], aliases.count > 1 else { return store[name]! }
        func copy() -> Tensor {
            let c = GradMode.disabled { shared.contiguous() }, t = Tensor(shape: shared.shape)
            t.data.update(from: c.data, count: c.count)
            t.name = shared.name
            return t
        }
        if aliases.first == name {
            for alias in aliases.dropFirst() { store[alias] = copy() }
            return shared
        }
        let own = copy()
        store[name] = own
        return own
    }

    /// Routes linear(name, x) to the method for adapted names while `body` runs; `head`, when
    /// given, replaces the LM head by the fused loss.
    public func withHooks<T>(head: LossTargets? = nil, _ body: () throws -> T) throws -> T {
        try withHooks(fusedHead: head.map { head in { x, w in try LossHead.loss(hidden: x, weight: w, head) } }, body)
    }

    /// The same with any fused head (x, head weight) → result; `adapterOff`: every linear is the base's,
    /// as PEFT's disable_adapter() runs it (the preference stages' reference model).
    public func withHooks<T>(fusedHead: ((Tensor, Tensor) throws -> Tensor)?, adapterOff: Bool = false, _ body: () throws -> T) throws -> T {
        let previous = EngineHooks.linear
        let method = self.method, adapted = adapterOff ? [] : self.adapted, store = model.parameters
        EngineHooks.linear = { name, x in
            if let fusedHead, name == "lm_head" {
                guard let w = store["lm_head.weight"] ?? store["lm_head"] else { throw HookError("lm_head: the model has no head weight") }
                return try fusedHead(x, w)
            }
            return adapted.contains(name) ? try method.linear(name, x) : try EngineHooks.baseLinear(name, x)
        }
        defer { EngineHooks.linear = previous }
        return try body()
    }

    /// Whether the method trains tensors of the base model itself (modules_to_save, biases), which
    /// switching the adapter off does not undo.
    public var trainsBaseTensors: Bool { !(plan["trainable"]?.arrayValue ?? []).isEmpty }

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

