// swift-tools-version:6.0
// Factory: fine-tuning of large language models as one native Swift program.
// The host (Sources/) is linked statically into the `factory` executable; every
// plugin (Plugins/) is its own .dynamic library built against SDK/ only.
import PackageDescription

/// Release builds need SIMD FMA as instructions, not library calls.
let optimise: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release))]
let optimiseC: [CSetting] = [.unsafeFlags(["-march=haswell", "-O3"], .when(configuration: .release))]

/// A plugin product: one dynamic library per plugin, named libFactoryPlugin<Name>.so
/// so that the default plugin directory (the build folder) finds it.
func plugin(_ name: String, target: String) -> Product {
    .library(name: "FactoryPlugin\(name)", type: .dynamic, targets: [target])
}

/// A quantizer plugin target: Plugins/Quantizers/<Name>, built on the static QuantizerKit.
func quantizerPlugin(_ name: String) -> Target {
    .target(name: "\(name)Quantizer", dependencies: ["QuantizerKit", .product(name: "FactoryPluginKit", package: "SDK")],
            path: "Plugins/Quantizers/\(name)", swiftSettings: optimise)
}

/// A model-family plugin target: Plugins/ModelFamilies/<Name>, built on the SDK's DecoderFamilyKit (as an
/// out-of-tree family is: SDK/templates/model-family).
func modelFamilyPlugin(_ name: String) -> Target {
    .target(name: "\(name)Model", dependencies: [.product(name: "DecoderFamilyKit", package: "SDK"), .product(name: "FactoryPluginKit", package: "SDK"),
                                                 .product(name: "FactoryJSON", package: "SDK")],
            path: "Plugins/ModelFamilies/\(name)", swiftSettings: optimise)
}

/// A chat-template plugin target: Plugins/ChatTemplates/<Name>, built on the static ChatTemplateKit.
func templatePlugin(_ name: String) -> Target {
    .target(name: "\(name)Template", dependencies: ["ChatTemplateKit", .product(name: "FactoryPluginKit", package: "SDK")],
            path: "Plugins/ChatTemplates/\(name)", swiftSettings: optimise)
}

let package = Package(
    name: "Factory",
    products: [
        .executable(name: "factory", targets: ["factory"]),
        .executable(name: "factory-engine-bench", targets: ["EngineBench"]),
        .executable(name: "factory-model-bench", targets: ["ModelBench"]),
        .executable(name: "factory-int8-agreement", targets: ["Int8Agreement"]),
        .executable(name: "factory-tokenizer-bench", targets: ["TokenizerBench"]),
        .executable(name: "factory-train-bench", targets: ["TrainBench"]),
        .executable(name: "factory-dpo-bench", targets: ["DPOBench"]),
        .executable(name: "factory-attention-bench", targets: ["AttentionBench"]),
        .executable(name: "factory-quant-bench", targets: ["QuantBench"]),
        plugin("TemplateAlpaca", target: "AlpacaTemplateC"),
        plugin("CommunicatorMPI", target: "MPICommunicator"),
        plugin("TemplateSmolLM2", target: "SmolLM2Template"),
        plugin("TemplateChatML", target: "ChatMLTemplate"),
        plugin("TemplateLlama3", target: "Llama3Template"),
        plugin("TemplateLlama2", target: "Llama2Template"),
        plugin("TemplateQwen", target: "QwenTemplate"),
        plugin("TemplateQwen3", target: "Qwen3Template"),
        plugin("TemplateQwen3NoThink", target: "Qwen3NoThinkTemplate"),
        plugin("TemplateMistral", target: "MistralTemplate"),
        plugin("TemplateGemma", target: "GemmaTemplate"),
        plugin("TemplatePhi4", target: "Phi4Template"),
        plugin("TemplateZephyr", target: "ZephyrTemplate"),
        plugin("TemplateVicuna", target: "VicunaTemplate"),
        plugin("TemplateDefault", target: "DefaultTemplate"),
        plugin("TemplateEmpty", target: "EmptyTemplate"),
        plugin("MethodLoRA", target: "LoRAMethod"),
        plugin("MethodFull", target: "FullMethod"),
        plugin("MethodFreeze", target: "FreezeMethod"),
        plugin("ModelLlama", target: "LlamaModel"),
        plugin("ModelQwen2", target: "Qwen2Model"),
        plugin("ModelQwen3", target: "Qwen3Model"),
        plugin("ModelMistral", target: "MistralModel"),
        plugin("ModelGemma", target: "GemmaModel"),
        plugin("ModelGemma2", target: "Gemma2Model"),
        plugin("ModelGemma3", target: "Gemma3Model"),
        plugin("ModelPhi3", target: "Phi3Model"),
        plugin("AttentionEager", target: "EagerAttention"),
        plugin("AttentionFlash", target: "FlashAttention"),
        plugin("QuantizerNF4", target: "NF4Quantizer"),
        plugin("QuantizerFP4", target: "FP4Quantizer"),
        plugin("QuantizerInt8", target: "Int8Quantizer"),
        plugin("QuantizerQ8_0", target: "Q8_0Quantizer"),
        plugin("QuantizerQ5_0", target: "Q5_0Quantizer"),
        plugin("QuantizerQ5_1", target: "Q5_1Quantizer"),
        plugin("QuantizerQ2_K", target: "Q2_KQuantizer"),
        plugin("QuantizerQ3_K", target: "Q3_KQuantizer"),
        plugin("QuantizerQ4_K", target: "Q4_KQuantizer"),
        plugin("QuantizerQ5_K", target: "Q5_KQuantizer"),
        plugin("QuantizerQ6_K", target: "Q6_KQuantizer"),
        plugin("QuantizerQ4_0", target: "Q4_0Quantizer"),
        plugin("QuantizerQ4_1", target: "Q4_1Quantizer"),
    ],
    dependencies: [
        .package(path: "SDK"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // ---- host ----
        .systemLibrary(name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "FactoryHost", dependencies: ["FactoryEngine", "FactoryJinja", .product(name: "CFactoryABI", package: "SDK"), .product(name: "FactoryJSON", package: "SDK")],
                swiftSettings: optimise),
        .target(name: "FactoryConformance", dependencies: ["FactoryHost", "FactoryEngine", "FactoryJinja", .product(name: "CFactoryABI", package: "SDK"),
                                                           .product(name: "FactoryJSON", package: "SDK")], swiftSettings: optimise),
        .target(name: "FactoryConfig", dependencies: ["CYAML", .product(name: "FactoryJSON", package: "SDK")], swiftSettings: optimise),
        .target(name: "FactoryFormats", dependencies: ["CZlib", .product(name: "FactoryJSON", package: "SDK"), .product(name: "GGMLBlocks", package: "SDK")],
                swiftSettings: optimise),
        .target(name: "FactoryData", dependencies: ["FactoryEngine", "FactoryJinja", "FactoryTokenizers", "FactoryConfig", .product(name: "FactoryJSON", package: "SDK")],
                swiftSettings: optimise),
        .target(name: "FactoryJinja", dependencies: [.product(name: "FactoryJSON", package: "SDK")], swiftSettings: optimise),
        .target(name: "FactoryTokenizers", dependencies: ["FactoryFormats", .product(name: "FactoryJSON", package: "SDK")], swiftSettings: optimise),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CRowKernels", cSettings: optimiseC),
        .target(name: "CBF16Gemm", cSettings: optimiseC, linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        .target(name: "FactoryEngine", dependencies: ["COpenBLAS", "CRowKernels", "CBF16Gemm"], swiftSettings: optimise),
        .target(name: "FactoryPipeline", dependencies: ["FactoryHost", "FactoryEngine", "FactoryConfig", "FactoryFormats", "FactoryTokenizers", "FactoryJinja", "FactoryData"], swiftSettings: optimise),
        .target(name: "FactoryTraining", dependencies: ["FactoryPipeline", "FactoryHost", "FactoryEngine", "FactoryData", "FactoryFormats", "FactoryTokenizers", "COpenBLAS",
                                                        .product(name: "FactoryJSON", package: "SDK")], swiftSettings: optimise),
        .target(name: "FactoryExport", dependencies: ["FactoryTraining", "FactoryPipeline", "FactoryHost", "FactoryEngine", "FactoryFormats", "FactoryConfig",
                                                      .product(name: "FactoryJSON", package: "SDK")], swiftSettings: optimise),
        .target(name: "FactoryServer", dependencies: ["FactoryPipeline", "FactoryHost", "FactoryConfig", .product(name: "FactoryJSON", package: "SDK"),
                                                      .product(name: "Hummingbird", package: "hummingbird")], swiftSettings: optimise),
        .target(name: "FactoryWebUI", dependencies: [.product(name: "FactoryJSON", package: "SDK"), .product(name: "Hummingbird", package: "hummingbird")],
                swiftSettings: optimise),
        .executableTarget(name: "factory", dependencies: ["FactoryPipeline", "FactoryTraining", "FactoryExport", "FactoryServer", "FactoryWebUI", "FactoryConformance", "FactoryEngine", "FactoryTokenizers", "FactoryData", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: optimise),

        .executableTarget(name: "ModelBench", dependencies: ["FactoryPipeline", "FactoryHost", "FactoryEngine"], path: "bench/ModelBench",
                          swiftSettings: optimise),
        .executableTarget(name: "Int8Agreement", dependencies: ["FactoryPipeline", "FactoryHost", "FactoryEngine", .product(name: "FactoryJSON", package: "SDK")],
                          path: "bench/Int8Agreement", swiftSettings: optimise),
        .executableTarget(name: "QuantBench", dependencies: ["FactoryHost", "FactoryEngine"], path: "bench/QuantBench", swiftSettings: optimise),
        .executableTarget(name: "AttentionBench", dependencies: ["FactoryHost", "FactoryEngine"], path: "bench/AttentionBench", swiftSettings: optimise),
        .executableTarget(name: "TokenizerBench", dependencies: ["FactoryTokenizers", .product(name: "FactoryJSON", package: "SDK")],
                          path: "bench/TokenizerBench", swiftSettings: optimise),
        .executableTarget(name: "TrainBench", dependencies: ["FactoryTraining", "FactoryPipeline", "FactoryHost", "FactoryEngine", "FactoryData",
                                                             .product(name: "FactoryJSON", package: "SDK")], path: "bench/TrainBench", swiftSettings: optimise),
        .executableTarget(name: "DPOBench", dependencies: ["FactoryTraining", "FactoryPipeline", "FactoryHost", "FactoryEngine", "FactoryData",
                                                           .product(name: "FactoryJSON", package: "SDK")], path: "bench/DPOBench", swiftSettings: optimise),
        .executableTarget(name: "EngineBench", dependencies: ["FactoryEngine", "COpenBLAS"], path: "bench/EngineBench", swiftSettings: optimise),

        // ---- plugins: each its own .so, depending on SDK/ only ----
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "MPICommunicator", dependencies: ["CMPI", .product(name: "CFactoryABI", package: "SDK")],
                path: "Plugins/Communicators/MPI", cSettings: optimiseC),
        .target(name: "AlpacaTemplateC", dependencies: [.product(name: "CFactoryABI", package: "SDK")],
                path: "Plugins/ChatTemplates/AlpacaC", cSettings: optimiseC, linkerSettings: [.linkedLibrary("json-c")]),
        modelFamilyPlugin("Llama"),
        modelFamilyPlugin("Qwen2"),
        modelFamilyPlugin("Qwen3"),
        modelFamilyPlugin("Mistral"),
        modelFamilyPlugin("Gemma"),
        modelFamilyPlugin("Gemma2"),
        modelFamilyPlugin("Gemma3"),
        modelFamilyPlugin("Phi3"),
        .target(name: "LoRAMethod", dependencies: [.product(name: "FactoryPluginKit", package: "SDK"), .product(name: "FactoryJSON", package: "SDK")],
                path: "Plugins/FinetuningMethods/LoRA", swiftSettings: optimise),
        .target(name: "FullMethod", dependencies: [.product(name: "FactoryPluginKit", package: "SDK"), .product(name: "FactoryJSON", package: "SDK")],
                path: "Plugins/FinetuningMethods/Full", swiftSettings: optimise),
        .target(name: "FreezeMethod", dependencies: [.product(name: "FactoryPluginKit", package: "SDK"), .product(name: "FactoryJSON", package: "SDK")],
                path: "Plugins/FinetuningMethods/Freeze", swiftSettings: optimise),
        .target(name: "ChatTemplateKit", dependencies: [.product(name: "FactoryPluginKit", package: "SDK"), .product(name: "FactoryJSON", package: "SDK")],
                path: "Plugins/ChatTemplates/Kit", swiftSettings: optimise),
        .target(name: "AttentionKernelKit", dependencies: ["AttentionTiles", .product(name: "FactoryPluginKit", package: "SDK")],
                path: "Plugins/AttentionKernels/Kit", swiftSettings: optimise),
        .target(name: "AttentionTiles", path: "Plugins/AttentionKernels/Tiles", cSettings: optimiseC),
        .target(name: "EagerAttention", dependencies: ["AttentionKernelKit", .product(name: "FactoryPluginKit", package: "SDK")],
                path: "Plugins/AttentionKernels/Eager", swiftSettings: optimise),
        .target(name: "FlashAttention", dependencies: ["AttentionKernelKit", .product(name: "FactoryPluginKit", package: "SDK")],
                path: "Plugins/AttentionKernels/Flash", swiftSettings: optimise),
        .target(name: "QuantizerKit", dependencies: ["BlockProducts", .product(name: "FactoryPluginKit", package: "SDK"), .product(name: "GGMLBlocks", package: "SDK")],
                path: "Plugins/Quantizers/Kit", swiftSettings: optimise),
        .target(name: "BlockProducts", path: "Plugins/Quantizers/BlockProducts", cSettings: optimiseC),
        quantizerPlugin("NF4"),
        quantizerPlugin("FP4"),
        quantizerPlugin("Int8"),
        quantizerPlugin("Q8_0"),
        quantizerPlugin("Q5_0"),
        quantizerPlugin("Q5_1"),
        quantizerPlugin("Q2_K"),
        quantizerPlugin("Q3_K"),
        quantizerPlugin("Q4_K"),
        quantizerPlugin("Q5_K"),
        quantizerPlugin("Q6_K"),
        quantizerPlugin("Q4_0"),
        quantizerPlugin("Q4_1"),
        templatePlugin("ChatML"),
        templatePlugin("SmolLM2"),
        templatePlugin("Llama3"),
        templatePlugin("Llama2"),
        templatePlugin("Qwen"),
        templatePlugin("Qwen3"),
        templatePlugin("Qwen3NoThink"),
        templatePlugin("Mistral"),
        templatePlugin("Gemma"),
        templatePlugin("Phi4"),
        templatePlugin("Zephyr"),
        templatePlugin("Vicuna"),
        templatePlugin("Default"),
        templatePlugin("Empty"),

        // ---- tests ----
        .testTarget(name: "FactoryHostTests", dependencies: ["FactoryHost", "BlockProducts", "AttentionTiles", "FactoryConformance", "FactoryPipeline", "FactoryJinja", .product(name: "FactoryJSON", package: "SDK")], path: "Tests/FactoryHostTests",
                    exclude: ["Fixtures"]),
        .testTarget(name: "FactoryFormatsTests", dependencies: ["FactoryFormats", "FactoryTokenizers", "FactoryJinja", "FactoryPipeline", .product(name: "FactoryJSON", package: "SDK")], path: "Tests/FactoryFormatsTests", exclude: ["Fixtures"]),
        .testTarget(name: "FactoryModelTests", dependencies: ["FactoryPipeline", "FactoryHost", "FactoryEngine", "FactoryFormats", .product(name: "FactoryJSON", package: "SDK")],
                    path: "Tests/FactoryModelTests", exclude: ["Fixtures"]),
        .testTarget(name: "FactoryDataTests", dependencies: ["FactoryData", "FactoryHost", "FactoryConfig", "FactoryTokenizers", .product(name: "FactoryJSON", package: "SDK")],
                    path: "Tests/FactoryDataTests"),
        .testTarget(name: "FactoryEngineTests", dependencies: ["FactoryEngine", "CBF16Gemm", "CRowKernels"], path: "Tests/FactoryEngineTests"),
        .testTarget(name: "FactoryConfigTests", dependencies: ["FactoryConfig"], path: "Tests/FactoryConfigTests"),
        .testTarget(name: "FactoryTrainingTests", dependencies: ["FactoryTraining", "FactoryPipeline", "FactoryHost", "FactoryEngine", "FactoryData", "FactoryConfig", "CZlib",
                                                                "FactoryFormats", .product(name: "FactoryJSON", package: "SDK")],
                    path: "Tests/FactoryTrainingTests", exclude: ["Fixtures"]),
        .testTarget(name: "FactoryExportTests", dependencies: ["FactoryExport", "FactoryEngine", .product(name: "FactoryJSON", package: "SDK")], path: "Tests/FactoryExportTests"),
        .testTarget(name: "CLITests", dependencies: ["FactoryHost"], path: "Tests/CLITests"),
    ],
    swiftLanguageModes: [.v5]
)
