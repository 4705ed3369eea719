// mpi_main.cpp — GoogleTest main for MPI tests: initialises MPI, silences ranks other than 0,
// and combines results only after every rank has finished (never inside an assertion).
#include <gtest/gtest.h>
#include <mpi.h>

#include "fourmi/distributed/mpi_communicator.h"
#include "fourmi/util/log.h"

int main(int argc, char** argv) {
  fourmi::distributed::MpiRuntime mpi;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  fourmi::util::set_log_rank(rank, size);
  ::testing::InitGoogleTest(&argc, argv);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (failed) std::fprintf(stderr, "rank %d: tests FAILED\n", rank);
  return any_failed;
}
