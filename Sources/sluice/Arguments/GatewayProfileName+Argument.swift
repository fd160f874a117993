import ArgumentParser
import SluiceCore

/// `--profile floopy|floopy-sdk|helicone|portkey|litellm|openai`; an unknown name is refused with the list.
extension GatewayProfileName: ExpressibleByArgument {}
