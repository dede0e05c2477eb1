# syntax=docker/dockerfile:1
# MobileNet.Orleans silo image, linux/amd64 and linux/arm64 from one build:
#   docker buildx build -f deploy/docker/silo.Dockerfile --platform linux/amd64,linux/arm64 -t <registry>/mobilenet-silo:<version> .
#
# The SDK stage runs on the build machine's own platform and cross-publishes for TARGETARCH: the output is
# framework-dependent IL plus ONNX Runtime's prebuilt natives for that RID, so no emulation is needed.
#
# Runtime base: Ubuntu noble "chiseled" ASP.NET image. ONNX Runtime's NuGet natives (runtimes/linux-x64,
# runtimes/linux-arm64) are glibc builds (libc >= 2.28, libstdc++, libgcc_s); there is no linux-musl build,
# so Alpine cannot load them. Chiseled keeps exactly glibc + libstdc++ + OpenSSL + CA certificates, has no
# shell or package manager, and runs as the non-root `app` user (UID 1654) by default. ICU is not needed:
# the projects build with InvariantGlobalization.
# No HEALTHCHECK: Kubernetes probes /health/live and /health/ready on the HTTP port instead.
# No model in the image: silos download the ONNX model from blob storage into their cache directory.

ARG DOTNET_SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0-noble
ARG DOTNET_RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled

FROM --platform=$BUILDPLATFORM ${DOTNET_SDK_IMAGE} AS build
ARG TARGETARCH
WORKDIR /src
# Restore first, from project files only, so source edits reuse the restored layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Contracts/MobileNet.Orleans.Contracts.csproj src/Contracts/
COPY src/Security/MobileNet.Orleans.Security.csproj src/Security/
COPY src/MobileNet.Inference/MobileNet.Inference.csproj src/MobileNet.Inference/
COPY src/Grains/MobileNet.Orleans.Grains.csproj src/Grains/
COPY src/Silo/MobileNet.Orleans.Silo.csproj src/Silo/
RUN case "$TARGETARCH" in amd64) echo linux-x64 ;; arm64) echo linux-arm64 ;; \
      *) echo "unsupported TARGETARCH '$TARGETARCH' (use linux/amd64 or linux/arm64)" >&2; exit 1 ;; esac > /tmp/rid \
 && dotnet restore src/Silo/MobileNet.Orleans.Silo.csproj -r "$(cat /tmp/rid)"
COPY src/ src/
# ONNX Runtime's package also copies its Windows natives (onnxruntime*.dll, ~17 MB) into every output: drop them.
RUN dotnet publish src/Silo/MobileNet.Orleans.Silo.csproj -c Release -r "$(cat /tmp/rid)" --self-contained false \
      --no-restore -p:UseAppHost=false -o /app \
 && rm -f /app/onnxruntime*.dll \
 && mkdir -p /cache

FROM ${DOTNET_RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY --from=build --chown=root:root /app ./
# The chiseled image has no shell to mkdir with: copy an empty, app-owned model cache directory instead.
# (On Kubernetes an emptyDir is mounted here, since the root filesystem is read-only.)
COPY --from=build --chown=1654:1654 /cache /var/cache/mobilenet
# Numeric UID so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 1654
# Orleans silo-to-silo, client gateway, and HTTP (health + Prometheus /metrics).
EXPOSE 11111 30000 8080
ENV Worker__CacheDirectory=/var/cache/mobilenet
ENTRYPOINT ["dotnet", "mobilenet-silo.dll"]
