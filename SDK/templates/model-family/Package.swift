// swift-tools-version:6.0
// An out-of-tree Factory model-family plugin: depends on the Factory SDK package only (FactoryPluginKit
// for the host's engine, DecoderFamilyKit for the decoder building blocks the in-tree families use).
// Set FACTORY_SDK to the SDK folder of a Factory checkout when this folder is copied elsewhere
// (default: the SDK this template sits in).
import PackageDescription

let sdk = Context.environment["FACTORY_SDK"] ?? "../.."

let package = Package(
    name: "ExampleFamily",
    products: [
        // One dynamic library = one plugin file: .build/<config>/libExampleFamily.so
        .library(name: "ExampleFamily", type: .dynamic, targets: ["ExampleFamily"]),
    ],
    dependencies: [.package(path: sdk)],
    targets: [
        .target(name: "ExampleFamily", dependencies: [
            .product(name: "DecoderFamilyKit", package: "SDK"), .product(name: "FactoryPluginKit", package: "SDK"),
            .product(name: "FactoryJSON", package: "SDK"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
