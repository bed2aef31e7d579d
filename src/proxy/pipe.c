/* pipe.c: moves a body from one connection's input to another's output,
 * re-framing it on the way. */
#include "proxy/proxy-private.h"

void
portico_pipe_init (PorticoPipe *pipe, PorticoBodyKind from, guint64 length, PorticoBodyKind to)
{
  memset (pipe, 0, sizeof *pipe);
  pipe->from = from;
  pipe->to = to;
  pipe->remaining = length;
  if (from == PORTICO_BODY_CHUNKED)
    portico_chunked_decoder_init (&pipe->decoder);
  if (from == PORTICO_BODY_NONE || (from == PORTICO_BODY_LENGTH && length == 0))
    pipe->done = TRUE;
}

void
portico_body_write (PorticoBodyKind to, PorticoBuf *out, const char *data, gsize len)
{
  if (to != PORTICO_BODY_CHUNKED)
    {
      portico_buf_append (out, data, len);
      return;
    }
  if (len == 0)
    return; /* a zero-size chunk would end the body */
  char line[PORTICO_CHUNK_HEADER_MAX];
  gsize n = portico_chunked_size_line (line, len);
  portico_buf_reserve (out, n + len + 2);
  portico_buf_append (out, line, n);
  portico_buf_append (out, data, len);
  portico_buf_append (out, "\r\n", 2);
}

static void
emit (PorticoPipe *pipe, PorticoBuf *out, const char *data, gsize len)
{
  pipe->bytes += len;
  portico_body_write (pipe->to, out, data, len);
}

static void
end_chunked (PorticoPipe *pipe, PorticoBuf *out)
{
  if (pipe->to == PORTICO_BODY_CHUNKED)
    {
      if (!pipe->in_trailers)
        portico_buf_append (out, "0\r\n", 3);
      portico_buf_append (out, "\r\n", 2);
    }
  pipe->done = TRUE;
}

static PorticoPipeResult
move_chunked (PorticoPipe *pipe, PorticoBuf *in, PorticoBuf *out, gsize high)
{
  while (portico_buf_len (out) < high && portico_buf_len (in) > 0)
    {
      gsize consumed = 0;
      const char *span = NULL;
      gsize span_len = 0;
      PorticoChunkedResult r = portico_chunked_decode (&pipe->decoder, portico_buf_head (in),
                                                       portico_buf_len (in), &consumed, &span,
                                                       &span_len);
      /* Copy before consuming: consume may reset the buffer's offsets. */
      switch (r)
        {
        case PORTICO_CHUNKED_DATA:
          emit (pipe, out, span, span_len);
          break;
        case PORTICO_CHUNKED_TRAILER:
          if (pipe->to == PORTICO_BODY_CHUNKED)
            {
              if (!pipe->in_trailers)
                portico_buf_append (out, "0\r\n", 3);
              pipe->in_trailers = TRUE;
              portico_buf_append (out, span, span_len);
              portico_buf_append (out, "\r\n", 2);
            }
          break;
        case PORTICO_CHUNKED_DONE:
          portico_buf_consume (in, consumed);
          end_chunked (pipe, out);
          return PORTICO_PIPE_DONE;
        case PORTICO_CHUNKED_NEED_MORE:
          portico_buf_consume (in, consumed);
          return PORTICO_PIPE_MOVED;
        case PORTICO_CHUNKED_ERROR:
        default:
          pipe->error = pipe->decoder.error_reason ? pipe->decoder.error_reason : "bad chunked body";
          return PORTICO_PIPE_ERROR;
        }
      portico_buf_consume (in, consumed);
    }
  return PORTICO_PIPE_MOVED;
}

PorticoPipeResult
portico_pipe_move (PorticoPipe *pipe, PorticoBuf *in, PorticoBuf *out, gsize high)
{
  if (pipe->done)
    return PORTICO_PIPE_DONE;
  if (pipe->error)
    return PORTICO_PIPE_ERROR;
  if (pipe->from == PORTICO_BODY_CHUNKED)
    return move_chunked (pipe, in, out, high);

  gsize len = portico_buf_len (in);
  gsize room = portico_buf_len (out) < high ? high - portico_buf_len (out) : 0;
  gsize n = MIN (len, room);
  if (pipe->from == PORTICO_BODY_LENGTH && n > pipe->remaining)
    n = (gsize) pipe->remaining;
  if (n > 0)
    {
      emit (pipe, out, portico_buf_head (in), n);
      portico_buf_consume (in, n);
    }
  if (pipe->from == PORTICO_BODY_LENGTH)
    {
      pipe->remaining -= n;
      if (pipe->remaining == 0)
        {
          end_chunked (pipe, out);
          return PORTICO_PIPE_DONE;
        }
    }
  return PORTICO_PIPE_MOVED;
}

PorticoPipeResult
portico_pipe_input_closed (PorticoPipe *pipe, PorticoBuf *out)
{
  if (pipe->done)
    return PORTICO_PIPE_DONE;
  if (pipe->from == PORTICO_BODY_CLOSE)
    {
      end_chunked (pipe, out);
      return PORTICO_PIPE_DONE;
    }
  pipe->error = "the peer closed before the end of the body";
  return PORTICO_PIPE_ERROR;
}
