# A real HTTP server on Debian's Ruby, from the standard library only, on a free loopback port (pods share the
# host network). One request at a time is enough for a test.
require "socket"

server = TCPServer.new("127.0.0.1", 0)
$stdout.sync = true
puts "rt-ruby listening on #{server.addr[1]}"
loop do
  client = server.accept
  while (line = client.gets) && line != "\r\n"; end
  body = "rt-ruby\n"
  client.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: #{body.bytesize}\r\nConnection: close\r\n\r\n#{body}")
  client.close
end
