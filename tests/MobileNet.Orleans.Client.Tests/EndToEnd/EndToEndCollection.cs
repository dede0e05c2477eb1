namespace MobileNet.Orleans.Client.Tests.EndToEnd;

/// <summary>End-to-end test classes run one after another: each starts its own silo processes on a 2-core machine.</summary>
[CollectionDefinition(Name)]
public sealed class EndToEndCollection
{
    public const string Name = "E2E";
}
