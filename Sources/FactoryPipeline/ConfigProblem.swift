/// A one-line problem with a run's configuration or inputs, found while planning or running.
public struct ConfigProblem: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
