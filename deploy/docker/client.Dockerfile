# syntax=docker/dockerfile:1
# `mobilenet` CLI image (submit / status / results), linux/amd64 and linux/arm64 from one build:
#   docker buildx build -f deploy/docker/client.Dockerfile --platform linux/amd64,linux/arm64 -t <registry>/mobilenet-client:<version> .
# Used by deploy/k8s/jobs/submit-job.yaml to submit a labeling job from inside the cluster.
#
# Same reasoning as silo.Dockerfile: cross-publish on the build platform, glibc-based chiseled runtime
# (the CLI references MobileNet.Inference, whose ONNX Runtime natives are glibc-only), non-root, no shell.

ARG DOTNET_SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0-noble
ARG DOTNET_RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime:10.0-noble-chiseled

FROM --platform=$BUILDPLATFORM ${DOTNET_SDK_IMAGE} AS build
ARG TARGETARCH
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Contracts/MobileNet.Orleans.Contracts.csproj src/Contracts/
COPY src/Security/MobileNet.Orleans.Security.csproj src/Security/
COPY src/MobileNet.Inference/MobileNet.Inference.csproj src/MobileNet.Inference/
COPY src/MobileNet.Modeling/MobileNet.Modeling.csproj src/MobileNet.Modeling/
COPY src/Client/MobileNet.Orleans.Client.csproj src/Client/
RUN case "$TARGETARCH" in amd64) echo linux-x64 ;; arm64) echo linux-arm64 ;; \
      *) echo "unsupported TARGETARCH '$TARGETARCH' (use linux/amd64 or linux/arm64)" >&2; exit 1 ;; esac > /tmp/rid \
 && dotnet restore src/Client/MobileNet.Orleans.Client.csproj -r "$(cat /tmp/rid)"
COPY src/ src/
# ONNX Runtime's package also copies its Windows natives (onnxruntime*.dll, ~17 MB) into every output: drop them.
RUN dotnet publish src/Client/MobileNet.Orleans.Client.csproj -c Release -r "$(cat /tmp/rid)" --self-contained false \
      --no-restore -p:UseAppHost=false -o /app \
 && rm -f /app/onnxruntime*.dll

FROM ${DOTNET_RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY --from=build --chown=root:root /app ./
USER 1654
ENTRYPOINT ["dotnet", "mobilenet.dll"]
CMD ["--help"]
