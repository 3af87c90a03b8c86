// Errors as the OpenAI API returns them: an HTTP status and {"error": {"message", "type", "param", "code"}},
// the message one line naming the field or value that is wrong.
import FactoryJSON

/// A request the server refuses, or a failure while answering it.
struct APIError: Error {
    let status: Int
    let message: String
    let type: String
    let param: String?
    let code: String?

    /// 400: a field of the request is wrong or not supported.
    static func badRequest(_ message: String, param: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: nil)
    }
    static let unauthorized = APIError(status: 401, message: "invalid or missing API key: send Authorization: Bearer <API_KEY>",
                                       type: "invalid_request_error", param: nil, code: "invalid_api_key")
    static func modelNotFound(_ model: String, served: [String]) -> APIError {
        APIError(status: 404, message: "the model '\(model)' does not exist here (served: \(served.joined(separator: ", ")))",
                 type: "invalid_request_error", param: "model", code: "model_not_found")
    }
    static func tooLarge(_ limit: Int) -> APIError {
        APIError(status: 413, message: "the request body is larger than \(limit) bytes", type: "invalid_request_error", param: nil, code: nil)
    }
    static let busy = APIError(status: 503, message: "the server's queue is full; retry later", type: "server_error", param: nil, code: "overloaded")
    static func server(_ message: String) -> APIError { APIError(status: 500, message: message, type: "server_error", param: nil, code: nil) }

    var json: JSON {
        .object(JSONObject([("error", .object(JSONObject([("message", .string(message)), ("type", .string(type)),
                                                          ("param", param.map(JSON.string) ?? .null), ("code", code.map(JSON.string) ?? .null)])))]))
    }
}
