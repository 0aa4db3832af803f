// libtcpka: keepalive and user timeout on any TCP socket, the host's defaults, the
// predicted detection time of every peer failure, and why a connection died.
#pragma once

#include "tcpka/close_cause.h"
#include "tcpka/deadline_wheel.h"
#include "tcpka/detection_model.h"
#include "tcpka/duration.h"
#include "tcpka/errno_name.h"
#include "tcpka/false_kills.h"
#include "tcpka/heartbeat.h"
#include "tcpka/policy.h"
#include "tcpka/policy_warnings.h"
#include "tcpka/result.h"
#include "tcpka/socket_options.h"
#include "tcpka/system_defaults.h"
#include "tcpka/tcp_state.h"
#include "tcpka/version.h"
