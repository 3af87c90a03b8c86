// swift-tools-version:6.0
// An out-of-tree Factory plugin: depends on the Factory SDK package only.
// Set FACTORY_SDK to the SDK folder of a Factory checkout when this folder is
// copied elsewhere (default: the SDK this template sits in).
import PackageDescription

let sdk = Context.environment["FACTORY_SDK"] ?? "../.."

let package = Package(
    name: "ExamplePlugin",
    products: [
        // One dynamic library = one plugin file: .build/<config>/libExamplePlugin.so
        .library(name: "ExamplePlugin", type: .dynamic, targets: ["ExamplePlugin"]),
    ],
    dependencies: [.package(path: sdk)],
    targets: [
        .target(name: "ExamplePlugin", dependencies: [.product(name: "FactoryPluginKit", package: "SDK")]),
    ],
    swiftLanguageModes: [.v5]
)
