import FactoryConfig
import FactoryHost
import FactoryJSON

/// What a plan item decides; the raw value is its name in the printed and JSON plan.
public enum PlanRole: String, Sendable, CaseIterable {
    case stage, model, threads, dataset, capability, quantizer, attention, communicator
    case modelFamily = "model-family", chatTemplate = "chat-template", templateCheck = "template-check"
    case finetuningMethod = "finetuning-method"

    /// The role of a plugin looked up in `kind`'s registry.
    public init(_ kind: PluginKind) {
        switch kind {
        case .modelFamily: self = .modelFamily
        case .chatTemplate: self = .chatTemplate
        case .finetuningMethod: self = .finetuningMethod
        case .quantizer: self = .quantizer
        case .attentionKernel: self = .attention
        case .communicator: self = .communicator
        }
    }
}

/// One decision of a run: what was asked for, which plugin (if any) serves it,
/// or what is wrong.
public struct PlanItem: Sendable {
    /// What the item decides.
    public let kind: PlanRole
    /// Its name as printed: "model", "model-family", "chat-template", ...
    public var role: String { kind.rawValue }
    /// What the config asked for, in the user's words.
    public let request: String
    /// The plugin component that serves it, if one does.
    public let component: Component?
    /// Extra facts (paths, formats, how a choice was made).
    public let detail: String
    /// Why it cannot be served, if it cannot.
    public let problem: String?

    public init(kind: PlanRole, request: String, component: Component?, detail: String, problem: String?) {
        (self.kind, self.request, self.component, self.detail, self.problem) = (kind, request, component, detail, problem)
    }

    /// The item of `role` in `items`.
    public static func first(_ role: PlanRole, in items: [PlanItem]) -> PlanItem? { items.first { $0.kind == role } }
}

/// The resolved plan of a `factory run`: every plugin the run would use and
/// from which file, without loading weights.
public struct RunPlan {
    public let configFile: String?
    public let stage: Stage
    public let items: [PlanItem]
    /// The model's files, when they were found (the run loads them without locating again).
    public var model: LocatedModel? = nil

    public var problems: [String] { items.compactMap(\.problem) }

    /// The plan of an export (`factory export`, or `factory run` on an export-only config): the items a
    /// merge and write use — the model, its family, the chat template and its check.
    public func forExport() -> RunPlan {
        var plan = RunPlan(configFile: configFile, stage: stage, items: items.filter { [.model, .modelFamily, .chatTemplate, .templateCheck].contains($0.kind) })
        plan.model = model
        return plan
    }

    /// The plan for people, one line per item.
    public func text() -> String {
        var lines = ["Plan for \(configFile ?? "(no config file)"): stage \(stage.rawValue)"]
        for item in items {
            var line = "  " + item.role.padding(18) + item.request.padding(22)
            if let problem = item.problem {
                line += "PROBLEM: " + problem
            } else {
                if let c = item.component { line += "\(c.id) \(c.version) from \(c.file)" }
                if !item.detail.isEmpty { line += (item.component == nil ? "" : "; ") + item.detail }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// The plan as JSON.
    public func json() -> JSON {
        .object(JSONObject([
            ("config", configFile.map { .string($0) } ?? .null),
            ("stage", .string(stage.rawValue)),
            ("items", .array(items.map { item in
                var o = JSONObject([("role", .string(item.role)), ("request", .string(item.request))])
                if let c = item.component {
                    o["plugin"] = .object(JSONObject([("name", .string(c.name)), ("id", .string(c.id)), ("version", .string(c.version)),
                                                      ("file", .string(c.file)), ("abi", .string(c.abiVersion))]))
                }
                if !item.detail.isEmpty { o["detail"] = .string(item.detail) }
                if let p = item.problem { o["problem"] = .string(p) }
                return .object(o)
            })),
            ("complete", .bool(problems.isEmpty)),
        ]))
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
