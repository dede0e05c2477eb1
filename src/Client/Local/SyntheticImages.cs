using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace MobileNet.Orleans.Client.Local;

/// <summary>
/// Deterministic stand-in photos for benchmarks when no image folder is given: JPEGs of a typical ImageNet size
/// (500x375) with smooth gradients, blobs and noise, so the decoder does realistic work. Same seed, same bytes.
/// </summary>
public static class SyntheticImages
{
    public const int Width = 500;
    public const int Height = 375;

    public static IReadOnlyList<byte[]> Generate(int count, int seed = 42)
    {
        var random = new Random(seed);
        var images = new List<byte[]>(count);
        for (var n = 0; n < count; n++)
        {
            using var image = new Image<Rgb24>(Width, Height);
            var (r0, g0, b0) = (random.Next(256), random.Next(256), random.Next(256));
            var (cx, cy, radius) = (random.Next(Width), random.Next(Height), 40 + random.Next(120));
            var noise = new byte[Width * 3];
            image.ProcessPixelRows(rows =>
            {
                for (var y = 0; y < rows.Height; y++)
                {
                    random.NextBytes(noise);
                    var row = rows.GetRowSpan(y);
                    for (var x = 0; x < row.Length; x++)
                    {
                        var inside = ((x - cx) * (x - cx)) + ((y - cy) * (y - cy)) < radius * radius;
                        var r = ((r0 + x) >> (inside ? 0 : 1)) + (noise[x * 3] >> 3);
                        var g = ((g0 + y) >> (inside ? 1 : 0)) + (noise[(x * 3) + 1] >> 3);
                        var b = (b0 + ((x + y) >> 2)) + (noise[(x * 3) + 2] >> 3);
                        row[x] = new Rgb24((byte)Math.Min(r, 255), (byte)Math.Min(g, 255), (byte)Math.Min(b, 255));
                    }
                }
            });
            using var stream = new MemoryStream();
            image.SaveAsJpeg(stream, new JpegEncoder { Quality = 90 });
            images.Add(stream.ToArray());
        }

        return images;
    }
}
