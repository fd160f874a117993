import Foundation
import Testing

@testable import SluiceCore

/// `profile` and `tags` as settings: chosen, merged, checked and stored.
struct ProfileConfigurationTests {
    func resolve(file: JobFile? = nil, _ change: (inout JobFile) -> Void = { _ in }) throws -> JobConfiguration {
        var flags = JobFile()
        flags.inputs = ["data/in.jsonl"]
        change(&flags)
        return try JobConfiguration.resolve(file: file, fileDirectory: nil, flags: flags)
    }

    func refusal(_ change: (inout JobFile) -> Void) -> String? {
        do {
            _ = try resolve(change)
            return nil
        } catch {
            return (error as? SluiceError)?.message
        }
    }

    @Test func floopyIsTheDefaultAndFlagsWinOverTheFile() throws {
        #expect(try resolve().gateway.profile == .floopy)
        var file = JobFile()
        file[\.gateway.profile] = .helicone
        file[\.gateway.tags] = ["from-file"]
        let fromFile = try resolve(file: file)
        #expect(fromFile.gateway.profile == .helicone)
        #expect(fromFile.gateway.tags == ["from-file"])
        let flagged = try resolve(file: file) {
            $0[\.gateway.profile] = .litellm
            $0[\.gateway.tags] = ["a", "b"]
        }
        #expect(flagged.gateway.profile == .litellm)
        #expect(flagged.gateway.tags == ["a", "b"], "tags replace the file's list, as fallback does")
        #expect(flagged.gatewayProfile.name == .litellm)
    }

    @Test func heliconeRefusesTheSemanticCache() {
        let message = refusal {
            $0[\.gateway.profile] = .helicone
            $0[\.gateway.cache] = .semantic
        }
        #expect(message?.contains("Helicone has no semantic cache") == true, "\(message ?? "accepted")")
        #expect(
            refusal {
                $0[\.gateway.profile] = .helicone
                $0[\.gateway.cache] = .exact
            } == nil)
    }

    @Test func tagsMustTravelInAHeader() {
        #expect(refusal { $0[\.gateway.tags] = ["a,b"] }?.contains("tag \"a,b\" cannot be sent") == true)
        #expect(refusal { $0[\.gateway.tags] = [""] } != nil)
        let clash = refusal {
            $0[\.gateway.tags] = ["x"]
            $0[\.gateway.properties] = ["tags": "y"]
        }
        #expect(clash?.contains("property named \"tags\"") == true, "\(clash ?? "accepted")")
        #expect(
            refusal {
                $0[\.gateway.profile] = .litellm
                $0[\.gateway.tags] = ["x"]
                $0[\.gateway.properties] = ["tags": "y"]
            } == nil, "LiteLLM has its own tags header: no clash")
    }

    @Test func anUnknownProfileInAJobFileListsTheNames() throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("job.json"), Data(#"{"inputs":["x.jsonl"],"profile":"kong"}"#.utf8))
        #expect { _ = try JobFile.load(path: dir.file("job.json")) } throws: { error in
            let message = (error as? SluiceError)?.message ?? ""
            return message.contains(#""profile" has an invalid value"#) && message.contains(#"unknown profile "kong""#)
                && message.contains("floopy, floopy-sdk, helicone, portkey, litellm, openai")
        }
        writeFile(dir.file("ok.json"), Data(#"{"inputs":["x.jsonl"],"profile":"floopy-sdk","tags":["t"]}"#.utf8))
        let file = try JobFile.load(path: dir.file("ok.json"))
        #expect(file[\.gateway.profile] == .floopySDK && file[\.gateway.tags] == ["t"])
    }

    @Test func settingsStoredBeforeProfilesExistedStillRead() throws {
        let old = #"{"cache":"exact","properties":{"a":"b"},"fallback":[],"extraHeaders":{}}"#
        let settings = try JSONDecoder().decode(GatewaySettings.self, from: Data(old.utf8))
        #expect(settings.profile == .floopy && settings.tags.isEmpty && settings.cache == .exact)
        var current = GatewaySettings()
        current.profile = .portkey
        current.tags = ["x"]
        #expect(try JSONDecoder().decode(GatewaySettings.self, from: JSONEncoder().encode(current)) == current)
    }
}
