# fourmi — the two commands a new user needs: `make demo` and `make test`.
#   make setup   install what is missing (Debian packages; torch in a venv outside the clone)
#   make build   configure and build build/bin/fourmi (and the tests)
#   make demo    set up, build the fourmi binary, generate a small Burgers 1D dataset, train, evaluate
#   make test    set up, build, check style (make lint), run the whole suite through ctest
SHELL := /bin/bash
FOURMI_VENV ?= $(HOME)/.cache/fourmi/venv
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CUDA_HOME ?= /usr/local/cuda
CTEST_ARGS ?=
export FOURMI_VENV
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
# ccache across clones: paths relative to the clone, PCH-aware.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime

PYTHON := $(FOURMI_VENV)/bin/python
FOURMI := $(BUILD_DIR)/bin/fourmi

.PHONY: setup configure build demo test lint format format-check clean

setup:
	@bash tools/setup-deps.sh >/dev/null

$(BUILD_DIR)/build.ninja:
	@TORCH_PREFIX=$$($(PYTHON) -c 'import torch; print(torch.utils.cmake_prefix_path)') && \
	if [ -x $(CUDA_HOME)/bin/nvcc ]; then export CUDACXX=$(CUDA_HOME)/bin/nvcc PATH=$(CUDA_HOME)/bin:$$PATH; fi && \
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_PREFIX_PATH="$$TORCH_PREFIX;$(CMAKE_PREFIX_PATH)" -DFOURMI_PYTHON=$(PYTHON) $(CMAKE_ARGS)

configure: setup $(BUILD_DIR)/build.ninja

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target fourmi
	@bash tools/demo.sh $(FOURMI) $(PYTHON)

test: build lint
	@cd $(BUILD_DIR) && ctest --output-on-failure -j 1 $(CTEST_ARGS)

# Style and static checks (.clang-format, .clang-tidy), as CI runs them.
lint: format-check configure
	@bash tools/lint.sh tidy $(BUILD_DIR)

format-check:
	@bash tools/lint.sh format

format:
	@bash tools/lint.sh fix

clean:
	rm -rf $(BUILD_DIR)
