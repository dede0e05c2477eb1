using Onnx;

namespace MobileNet.Modeling.Analysis.MultiplyAdds;

/// <summary>The shapes a rule needs: node inputs and outputs at batch size 1, null where inference lost track.</summary>
internal sealed record NodeShapes(long[]? Input, long[]? Weight, long[]? Output);

/// <summary>
/// The multiply-add count of one operator family. <see cref="MultiplyAddRules"/> picks the rule by operator type;
/// rules whose figures the MobileNet papers count feed <see cref="ModelAnalysis.MultiplyAdds"/>, the others
/// <see cref="ModelAnalysis.OtherOperations"/>.
/// </summary>
internal interface IMultiplyAddRule
{
    /// <summary>True when the papers' convention counts this family's operations as multiply-adds.</summary>
    bool IsPaperMultiplyAdd { get; }

    bool Applies(NodeProto node);

    /// <summary>Operations of <paramref name="node"/> per image; warnings say why a count had to be 0.</summary>
    long Count(NodeProto node, NodeShapes shapes, AnalysisWarnings warnings);
}
