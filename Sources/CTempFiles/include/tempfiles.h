#ifndef GRADTRACE_TEMPFILES_H
#define GRADTRACE_TEMPFILES_H

/// The temporary files being written, kept where a signal handler may read them: a fixed table
/// of path buffers, filled and cleared with atomic state changes, read by the handler with
/// async-signal-safe calls only (unlink, signal, raise).

/// Lists a temporary file; returns its slot, or -1 when the path is too long or the table is full
/// (the file is then simply not removed on a signal).
int gt_temp_register(const char *path);

/// Takes a slot off the list (after the file was renamed or removed).
void gt_temp_unregister(int slot);

/// Installs handlers for SIGINT, SIGTERM and SIGHUP (each unless it was ignored at start): they
/// remove every listed file, then end the process by the same signal's default action, so the
/// exit status is the conventional one (130 for SIGINT in a shell). The three signals are
/// unblocked in the calling thread: call it first thing in main, before other threads start.
void gt_temp_install_signal_handlers(void);

/// How many files are listed now (for tests).
int gt_temp_count(void);

#endif
