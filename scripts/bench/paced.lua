-- wrk script: each connection waits 1 ms after an answer before sending its next request, so
-- the load offered is set by the connections (64 connections: some 45,000 requests/s on the
-- benchmark machine) rather than by how fast the server answers. Latencies are then those of
-- requests at the same load on both servers compared.
function delay()
  return 1
end
