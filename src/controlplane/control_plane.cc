// The interface has no code of its own; this file keeps the module a library until the
// implementations (raft/, remote/, k8s/) land beside it.
#include "controlplane/control_plane.h"
