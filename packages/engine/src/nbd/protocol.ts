/**
 * NBD wire format constants (NetworkBlockDevice/nbd doc/proto.md).
 * Every integer on the wire is big-endian. This file is the only place that
 * knows the numbers; the handshake and transmission codecs import from here.
 */

// ---- Handshake -----------------------------------------------------------

export const NBD_MAGIC = 0x4e42444d41474943n; // "NBDMAGIC"
export const NBD_IHAVEOPT = 0x49484156454f5054n; // "IHAVEOPT"
/** Prefix of every option reply (fixed newstyle). */
export const NBD_REP_MAGIC = 0x3e889045565a9n;

/** Server handshake flags (u16). */
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_NO_ZEROES = 1 << 1;
export const SERVER_HANDSHAKE_FLAGS = NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES;

/** Client flags (u32). Any other bit set means the client wants something we don't know: close. */
export const NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_C_NO_ZEROES = 1 << 1;
export const KNOWN_CLIENT_FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

/** Server greeting: magic (8), IHAVEOPT (8), handshake flags (2). */
export const GREETING_LENGTH = 18;
/** Client option header: IHAVEOPT (8), option (4), length (4). */
export const OPTION_HEADER_LENGTH = 16;
/** Option reply header: magic (8), option (4), type (4), length (4). */
export const OPTION_REPLY_HEADER_LENGTH = 20;
/** Padding after the EXPORT_NAME reply unless both sides agreed on NO_ZEROES. */
export const EXPORT_NAME_PADDING = 124;

export const NBD_OPT_EXPORT_NAME = 1;
export const NBD_OPT_ABORT = 2;
export const NBD_OPT_LIST = 3;
export const NBD_OPT_STARTTLS = 5;
export const NBD_OPT_INFO = 6;
export const NBD_OPT_GO = 7;
export const NBD_OPT_STRUCTURED_REPLY = 8;
export const NBD_OPT_LIST_META_CONTEXT = 9;
export const NBD_OPT_SET_META_CONTEXT = 10;
export const NBD_OPT_EXTENDED_HEADERS = 11;

export const NBD_REP_ACK = 1;
export const NBD_REP_SERVER = 2;
export const NBD_REP_INFO = 3;
export const NBD_REP_META_CONTEXT = 4;
const NBD_REP_FLAG_ERROR = 0x80000000;
export const NBD_REP_ERR_UNSUP = (NBD_REP_FLAG_ERROR | 1) >>> 0;
export const NBD_REP_ERR_POLICY = (NBD_REP_FLAG_ERROR | 2) >>> 0;
export const NBD_REP_ERR_INVALID = (NBD_REP_FLAG_ERROR | 3) >>> 0;
export const NBD_REP_ERR_PLATFORM = (NBD_REP_FLAG_ERROR | 4) >>> 0;
export const NBD_REP_ERR_TLS_REQD = (NBD_REP_FLAG_ERROR | 5) >>> 0;
export const NBD_REP_ERR_UNKNOWN = (NBD_REP_FLAG_ERROR | 6) >>> 0;
export const NBD_REP_ERR_SHUTDOWN = (NBD_REP_FLAG_ERROR | 7) >>> 0;
export const NBD_REP_ERR_BLOCK_SIZE_REQD = (NBD_REP_FLAG_ERROR | 8) >>> 0;
export const NBD_REP_ERR_TOO_BIG = (NBD_REP_FLAG_ERROR | 9) >>> 0;

export const NBD_INFO_EXPORT = 0;
export const NBD_INFO_NAME = 1;
export const NBD_INFO_DESCRIPTION = 2;
export const NBD_INFO_BLOCK_SIZE = 3;

/** Longest option payload we buffer. Names are capped at 4096 by the spec; this leaves room for queries. */
export const MAX_OPTION_LENGTH = 64 * 1024;
/** Longest export name or metadata context name accepted (spec limit). */
export const MAX_NAME_LENGTH = 4096;

// ---- Transmission --------------------------------------------------------

export const NBD_REQUEST_MAGIC = 0x25609513;
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
export const NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Request header: magic (4), flags (2), type (2), cookie (8), offset (8), length (4). */
export const REQUEST_HEADER_LENGTH = 28;
/** Simple reply header: magic (4), error (4), cookie (8). */
export const SIMPLE_REPLY_HEADER_LENGTH = 16;
/** Structured reply chunk header: magic (4), flags (2), type (2), cookie (8), length (4). */
export const STRUCTURED_REPLY_HEADER_LENGTH = 20;

/** Transmission flags (u16), sent with the export size. */
export const NBD_FLAG_HAS_FLAGS = 1 << 0;
export const NBD_FLAG_READ_ONLY = 1 << 1;
export const NBD_FLAG_SEND_FLUSH = 1 << 2;
export const NBD_FLAG_SEND_FUA = 1 << 3;
export const NBD_FLAG_ROTATIONAL = 1 << 4;
export const NBD_FLAG_SEND_TRIM = 1 << 5;
export const NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
export const NBD_FLAG_SEND_DF = 1 << 7;
export const NBD_FLAG_CAN_MULTI_CONN = 1 << 8;
export const NBD_FLAG_SEND_CACHE = 1 << 10;
export const NBD_FLAG_SEND_FAST_ZERO = 1 << 11;

export const NBD_CMD_READ = 0;
export const NBD_CMD_WRITE = 1;
export const NBD_CMD_DISC = 2;
export const NBD_CMD_FLUSH = 3;
export const NBD_CMD_TRIM = 4;
export const NBD_CMD_CACHE = 5;
export const NBD_CMD_WRITE_ZEROES = 6;
export const NBD_CMD_BLOCK_STATUS = 7;

export const NBD_CMD_FLAG_FUA = 1 << 0;
export const NBD_CMD_FLAG_NO_HOLE = 1 << 1;
export const NBD_CMD_FLAG_DF = 1 << 2;
export const NBD_CMD_FLAG_REQ_ONE = 1 << 3;
export const NBD_CMD_FLAG_FAST_ZERO = 1 << 4;

export const NBD_REPLY_FLAG_DONE = 1 << 0;

export const NBD_REPLY_TYPE_NONE = 0;
export const NBD_REPLY_TYPE_OFFSET_DATA = 1;
export const NBD_REPLY_TYPE_OFFSET_HOLE = 2;
export const NBD_REPLY_TYPE_BLOCK_STATUS = 5;
export const NBD_REPLY_TYPE_ERROR = (1 << 15) + 1;
export const NBD_REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2;

/** `base:allocation` extent flags. */
export const NBD_STATE_HOLE = 1 << 0;
export const NBD_STATE_ZERO = 1 << 1;
export const BASE_ALLOCATION = "base:allocation";
/** Context id we hand out for base:allocation (any non-zero u32 the server picks). */
export const BASE_ALLOCATION_CONTEXT_ID = 1;

/** Error numbers carried in replies (Linux errno values, fixed by the spec). */
export const NBD_EPERM = 1;
export const NBD_EIO = 5;
export const NBD_ENOMEM = 12;
export const NBD_EINVAL = 22;
export const NBD_ENOSPC = 28;
export const NBD_EOVERFLOW = 75;
export const NBD_ENOTSUP = 95;
export const NBD_ESHUTDOWN = 108;

// ---- Limits we advertise -------------------------------------------------

/** Minimum block size: the volume's native block; unaligned requests still work (read-modify-write). */
export const MIN_BLOCK_SIZE = 4096;
export const PREFERRED_BLOCK_SIZE = 4096;
/** Largest READ/WRITE payload we advertise and accept; clients stay within 32 MiB. */
export const MAX_PAYLOAD = 32 * 1024 * 1024;
