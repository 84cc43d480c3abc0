#pragma once

/// Installs an async-signal-safe handler for each of `signals` that writes the signal number as
/// one byte to `write_fd` (the write end of a pipe the caller reads on a thread of its own).
/// Returns 0, or -1 with errno set when a sigaction call fails.
int causalrec_install_signal_pipe(int write_fd, const int *signals, int count);
