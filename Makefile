# reposer. `make demo` and `make test` set everything up first; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := demo

NODE_INCLUDE ?= $(shell node -p "require('path').resolve(process.execPath, '../../include/node')")
CXX ?= g++
CXXFLAGS_BASE := -O2 -std=c++17 -fPIC -fexceptions -frtti -fvisibility=hidden -DNAPI_VERSION=8 \
  -Wall -Wno-unused-function -Wno-unused-variable -Wno-sign-compare -I$(NODE_INCLUDE) -MMD -MP

ifdef LIBTORCH
  # Upstream libtorch: headers and libraries from its folder; CUDA libraries are linked whole so their kernels register.
  TORCH_CXX11_ABI ?= $(shell nm -DC $(LIBTORCH)/lib/libc10.so 2>/dev/null | grep -q '__cxx11' && echo 1 || echo 0)
  TORCH_CFLAGS := -isystem $(LIBTORCH)/include -isystem $(LIBTORCH)/include/torch/csrc/api/include -D_GLIBCXX_USE_CXX11_ABI=$(TORCH_CXX11_ABI)
  TORCH_LIBS := -L$(LIBTORCH)/lib -Wl,-rpath,$(LIBTORCH)/lib -Wl,--no-as-needed $(if $(wildcard $(LIBTORCH)/lib/libtorch_cuda.so),-ltorch_cuda -lc10_cuda) -Wl,--as-needed -ltorch -ltorch_cpu -lc10
else
  TORCH_CFLAGS := -isystem /usr/include/torch/csrc/api/include -D_GLIBCXX_USE_CXX11_ABI=1
  TORCH_LIBS := -ltorch_cpu -lc10
endif

# Data-parallel training (native/distributed.cc) needs Gloo's headers: Debian's libgloo-dev, or an upstream libtorch
# that ships them. Without them the addon still builds, and its dist* entry points say how to get Gloo.
ifdef LIBTORCH
  GLOO_INCLUDE := $(wildcard $(LIBTORCH)/include/gloo/config.h)
  GLOO_LIBS :=
else
  GLOO_INCLUDE := $(wildcard /usr/include/gloo/config.h)
  GLOO_LIBS := -lgloo
endif
GLOO_STAMP := build/gloo-$(if $(GLOO_INCLUDE),on,off).stamp
TORCH_LIBS += $(if $(GLOO_INCLUDE),$(GLOO_LIBS))

NATIVE_SRC := $(wildcard native/*.cc) $(wildcard native/gen/*.cc)
NATIVE_OBJ := $(patsubst native/%.cc,build/obj/%.o,$(NATIVE_SRC))
ADDON := build/reposer.node
TESTS = $(shell find dist/test -name '*.test.js' | sort)

.PHONY: setup native gen build lint typecheck test test-slow demo bench-engine bench-models bench-data bench-eval bench-distributed bench-precision-curve bench-detect bench-quality bench-quality-train configs clean

setup:
	@bash scripts/setup.sh

gen:
	node scripts/gen-ops.mjs

native/gen/ops_0.cc native/gen/ops_1.cc src/torch/gen/ops.ts: native/op-table.mjs scripts/gen-ops.mjs
	node scripts/gen-ops.mjs

# Concurrent builders (several shells in one checkout) serialise on a lock.
native: native/gen/ops_0.cc
	@mkdir -p build && flock build/.lock $(MAKE) --no-print-directory -j2 $(ADDON)

$(ADDON): $(NATIVE_OBJ)
	$(CXX) -shared -o $@.tmp $^ $(TORCH_LIBS) && mv $@.tmp $@

build/obj/%.o: native/%.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_BASE) $(TORCH_CFLAGS) -c $< -o $@

build/obj/distributed.o: CXXFLAGS_BASE += $(if $(GLOO_INCLUDE),-DUSE_C10D_GLOO -DREPOSER_GLOO)
build/obj/distributed.o: $(GLOO_STAMP)
$(GLOO_STAMP):
	@mkdir -p build && rm -f build/gloo-*.stamp && touch $@

-include $(NATIVE_OBJ:.o=.d)

build: src/torch/gen/ops.ts
	npx tsc -p tsconfig.json

lint:
	node scripts/gen-ops.mjs --check
	npx eslint .

test: setup
	$(MAKE) --no-print-directory lint
	node --test --test-reporter=spec $(TESTS)

test-slow: setup
	REPOSER_SLOW=1 node --test --test-reporter=spec $(TESTS)

demo: setup
	node dist/src/cli/main.js demo

bench-engine: setup
	node dist/bench/engine.js

bench-models: setup
	node dist/bench/models.js

bench-data: setup
	node dist/bench/data.js

bench-eval: setup
	node dist/bench/eval.js

bench-distributed: setup
	node dist/bench/distributed.js

# PATN small in fp32 and bf16 from one seed, side by side (needs a CPU with native bf16).
bench-precision-curve: setup
	node dist/bench/precision-curve.js

bench-detect: setup
	node dist/bench/detect.js

# Every shipped checkpoint and the baseline on held-out synthetic people (README, "Quality"); needs ../shared/data.
bench-quality: setup
	node dist/bench/quality.js

# Retrains the shipped checkpoints and the ablations (about an hour a run on one core; not run by CI).
bench-quality-train: setup
	node dist/bench/quality-train.js

# The preset files under configs/ from the typed defaults.
configs: build
	node dist/scripts/write-configs.js

clean:
	rm -rf build dist

# Builds and runs the parity suite against Debian 13's libtorch 2.6 in a debootstrapped root (docs/compat.md).
# Not part of `make test`: it downloads about 1 GB the first time and needs root.
.PHONY: compat
compat:
	@bash scripts/compat.sh
