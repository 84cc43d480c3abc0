// Signal handling that does not depend on libdispatch: on Linux a DispatchSource signal source
// only sees signals that every thread blocks, and threads created by librdkafka or by
// dispatch_main's signal thread do not all do so — a SIGTERM then either kills the process or
// is swallowed. A plain sigaction handler runs on whichever thread receives the signal, and all
// it does is write(2), which is async-signal-safe.
#include "signal_pipe.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t pipe_write_fd = -1;

static void forward_signal(int signal_number) {
    int saved_errno = errno;
    unsigned char byte = (unsigned char)signal_number;
    if (pipe_write_fd >= 0) {
        ssize_t ignored = write(pipe_write_fd, &byte, 1);
        (void)ignored;
    }
    errno = saved_errno;
}

int causalrec_install_signal_pipe(int write_fd, const int *signals, int count) {
    pipe_write_fd = write_fd;
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int index = 0; index < count; index++) {
        if (sigaction(signals[index], &action, NULL) != 0) {
            return -1;
        }
    }
    return 0;
}
