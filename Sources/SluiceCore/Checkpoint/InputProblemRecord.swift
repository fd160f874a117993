/// A bad input line as stored: where it is and why.
package struct InputProblemRecord: Sendable {
    package var file: String
    package var line: Int
    package var code: String
    package var message: String
}
