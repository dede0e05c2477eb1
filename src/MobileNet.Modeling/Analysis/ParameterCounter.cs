using MobileNet.Modeling.Onnx;
using Onnx;

namespace MobileNet.Modeling.Analysis;

/// <summary>
/// Counts parameters as <see cref="ModelAnalysis"/> defines them: initializers feeding weight, bias or batch-norm
/// inputs, and weight-typed initializers of two or more elements feeding data inputs; each initializer once, however
/// many nodes read it.
/// </summary>
internal sealed class ParameterCounter
{
    private readonly Dictionary<string, TensorProto> _initializers = [];
    private readonly HashSet<string> _counted = [];

    public ParameterCounter(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        foreach (var tensor in graph.Initializer)
        {
            _initializers[tensor.Name] = tensor;
        }
    }

    /// <summary>True when <paramref name="name"/> is an initializer (a weight or constant, not a model input).</summary>
    public bool IsInitializer(string name) => _initializers.ContainsKey(name);

    /// <summary>Learned and batch-norm elements among <paramref name="node"/>'s initializer inputs not counted before.</summary>
    public (long Learned, long BatchNorm) Count(NodeProto node)
    {
        long learned = 0, batchNorm = 0;
        for (var i = 0; i < node.Input.Count; i++)
        {
            var name = node.Input[i];
            if (name.Length == 0 || !_initializers.TryGetValue(name, out var tensor))
            {
                continue;
            }

            var role = OperatorRoles.Role(node, i);
            var elements = tensor.ElementCount();
            var counts = role switch
            {
                InputRole.Weight or InputRole.Bias or InputRole.BatchNorm => true,
                // Scalars feeding arithmetic are constants (a 255 divisor, ReLU6 bounds), not learned weights.
                InputRole.Data => elements >= 2 && OnnxDataTypes.CanHoldWeights(tensor.DataType),
                _ => false,
            };
            if (!counts || !_counted.Add(name))
            {
                continue;
            }

            if (role == InputRole.BatchNorm)
            {
                batchNorm += elements;
            }
            else
            {
                learned += elements;
            }
        }

        return (learned, batchNorm);
    }
}
