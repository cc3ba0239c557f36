<?php
// A real HTTP server on Debian's PHP CLI, on a free loopback port (pods share the host network), from the core
// stream functions only. One request at a time is enough for a test.
$server = stream_socket_server("tcp://127.0.0.1:0", $errno, $errstr);
if ($server === false) {
    fwrite(STDERR, "rt-php: $errstr\n");
    exit(1);
}
$port = substr(strrchr(stream_socket_get_name($server, false), ":"), 1);
fwrite(STDOUT, "rt-php listening on $port\n");
while (true) {
    $client = @stream_socket_accept($server, -1);
    if ($client === false) {
        continue;
    }
    while (($line = fgets($client)) !== false && $line !== "\r\n") {
    }
    $body = "rt-php\n";
    fwrite($client, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " . strlen($body) . "\r\nConnection: close\r\n\r\n" . $body);
    fclose($client);
}
