namespace MobileNet.Modeling.Analysis;

/// <summary>What the analysis could not count, in order; capped so a hostile graph cannot flood the report.</summary>
internal sealed class AnalysisWarnings
{
    private const int Limit = 50;
    private readonly List<string> _messages = [];

    public IReadOnlyList<string> Messages => _messages;

    public void Add(string message)
    {
        if (_messages.Count < Limit)
        {
            _messages.Add(message);
        }
    }
}
