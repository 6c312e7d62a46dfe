# paper-bench/: the InfiniCache paper's experiments on the local platform.
# make paper-bench                       all four, quick mode (< 15 min on 2 cores)
# make paper-bench PAPER_ARGS=--full     the long versions
# make paper-bench PAPER_ARGS=--redo     run again instead of reusing raw results
.PHONY: paper-bench
paper-bench: deps build
	paper-bench/run-all.sh $(PAPER_ARGS)
