/*
 * Preloaded by tests/test_mpi.sh into ftc under AddressSanitizer: a
 * dlclose that keeps the library mapped.  Open MPI unloads its components
 * (mca_*.so) at MPI_Finalize; what they allocated and kept is then
 * reported by LeakSanitizer from an "<unknown module>" that no suppression
 * can name.  Kept mapped, their frames keep their names, and
 * tests/lsan-mpi.supp suppresses Open MPI's own allocations only, so that
 * a leak of ftc's still fails the test.
 */
int dlclose(void *handle);

int dlclose(void *handle)
{
	(void)handle;
	return 0;
}
