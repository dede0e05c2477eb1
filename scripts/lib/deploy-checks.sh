# Sourced helpers for the deployment checks in scripts/test.sh.

# deploy_validator_install: installs the manifest validator's pinned npm packages (kubernetes-models, yaml,
# yaml-lint) into deploy/k8s/validate/node_modules (ignored), once per lock file change.
deploy_validator_install() {
  local dir="$REPO_ROOT/deploy/k8s/validate" stamp="$REPO_ROOT/deploy/k8s/validate/node_modules/.lock-installed"
  command -v npm >/dev/null || { echo "note: npm not found: manifest schema validation will be skipped" >&2; return 0; }
  if [[ -f "$stamp" ]] && cmp -s "$dir/package-lock.json" "$stamp"; then return 0; fi
  echo "installing the manifest validator's npm packages into $dir/node_modules ..." >&2
  (cd "$dir" && npm ci --no-audit --no-fund --silent >&2) && cp "$dir/package-lock.json" "$stamp"
}

# deploy_publish_checks OUT_DIR: publishes the silo and the client for linux-x64 and linux-arm64 exactly as
# the container images do (Release, framework-dependent, no apphost), each into OUT_DIR, with bin/obj under
# OUT_DIR too so the working tree's builds are untouched. A check passes when the publish succeeds and the
# output holds the entry assembly and an ONNX Runtime native library for that CPU (ELF machine x86-64 or
# AArch64); the silo's must hold no model tooling (MobileNet.Modeling, OnnxSharp: CLI only). Sets PUBLISH_PASSED
# and PUBLISH_FAILED. ReadyToRun compilation is left out here: it changes no file this checks, and on 2 cores it
# tripled the four publishes (5.3 min against about 2).
deploy_publish_checks() {
  local out=$1 project rid name entry dir machine expected log tooling
  PUBLISH_PASSED=0; PUBLISH_FAILED=0
  rm -rf "$out"; mkdir -p "$out"
  for rid in linux-x64 linux-arm64; do
    case "$rid" in linux-x64) expected="3e00" ;; linux-arm64) expected="b700" ;; esac
    for project in Silo:src/Silo/MobileNet.Orleans.Silo.csproj:mobilenet-silo.dll Client:src/Client/MobileNet.Orleans.Client.csproj:mobilenet.dll; do
      IFS=: read -r name project entry <<<"$project"
      dir="$out/$name-$rid"; log="$out/$name-$rid.log"; tooling=""
      if dotnet publish "$project" -c Release -r "$rid" --self-contained false -p:UseAppHost=false -p:PublishReadyToRun=false \
           --artifacts-path "$out/artifacts" -o "$dir" --nologo -v quiet >"$log" 2>&1 \
         && [[ -f "$dir/$entry" && -f "$dir/libonnxruntime.so" ]] \
         && tooling=$(if [[ $name == Silo ]]; then ls "$dir" | grep -E '^(MobileNet\.Modeling|OnnxSharp)\.dll$' | tr '\n' ' ' || true; fi) \
         && [[ -z "$tooling" ]] \
         && machine=$(od -An -tx1 -j18 -N2 "$dir/libonnxruntime.so" | tr -d ' \n') && [[ "$machine" == "$expected" ]]; then
        echo "  Passed publish $name -r $rid" >&2
        PUBLISH_PASSED=$(( PUBLISH_PASSED + 1 ))
      else
        echo "  Failed publish $name -r $rid (ELF machine '${machine:-?}', expected '$expected'${tooling:+; model tooling in the silo: $tooling}); log: $log" >&2
        tail -20 "$log" >&2
        PUBLISH_FAILED=$(( PUBLISH_FAILED + 1 ))
      fi
    done
  done
}
