using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MobileNet.Orleans.Deploy.Tests.Manifests;

/// <summary>Reads multi-document YAML into JSON nodes, typing plain scalars the way Kubernetes reads them.</summary>
internal static class YamlObjects
{
    public static List<JsonObject> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var objects = new List<JsonObject>();
        foreach (var document in stream.Documents)
        {
            if (ToJson(document.RootNode) is JsonObject obj)
            {
                objects.Add(obj);
            }
            else
            {
                throw new FormatException($"a YAML document at {document.RootNode.Start} is not a mapping");
            }
        }

        return objects;
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => ToObject(map),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        YamlScalarNode scalar => ToValue(scalar),
        _ => throw new FormatException($"unsupported YAML node at {node.Start}"),
    };

    private static JsonObject ToObject(YamlMappingNode map)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            var name = ((YamlScalarNode)key).Value ?? "";
            if (obj.ContainsKey(name))
            {
                throw new FormatException($"duplicate key '{name}' at {key.Start}");
            }

            obj[name] = ToJson(value);
        }

        return obj;
    }

    private static JsonNode? ToValue(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        return text switch
        {
            "" or "~" or "null" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            _ when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => JsonValue.Create(n),
            _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && text.Contains('.', StringComparison.Ordinal) => JsonValue.Create(d),
            _ => JsonValue.Create(text),
        };
    }
}
