import FactoryConfig
import FactoryHost
import FactoryJSON

/// One decision of a run: what was asked for, which plugin (if any) serves it,
/// or what is wrong.
public struct PlanItem: Sendable {
    /// What the item is: "model", "model-family", "chat-template", ...
    public let role: String
    /// What the config asked for, in the user's words.
    public let request: String
    /// The plugin component that serves it, if one does.
    public let component: Component?
    /// Extra facts (paths, formats, how a choice was made).
    public let detail: String
    /// Why it cannot be served, if it cannot.
    public let problem: String?
}

/// The resolved plan of a `factory run`: every plugin the run would use and
/// from which file, without loading weights.
public struct RunPlan {
    public let configFile: String?
    public let stage: String
    public let items: [PlanItem]
    /// The model's files, when they were found (the run loads them without locating again).
    public var model: LocatedModel? = nil

    public var problems: [String] { items.compactMap(\.problem) }

    /// The plan for people, one line per item.
    public func text() -> String {
        var lines = ["Plan for \(configFile ?? "(no config file)"): stage \(stage)"]
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
            ("stage", .string(stage)),
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
