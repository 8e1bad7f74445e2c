<?php
// Pushes a message into the socket server's topic, as a PHP page would: one PUBLISH.
// Usage: php push.php <redis port> <topic> <message> [hex]  (hex: the message is hex-encoded bytes)
$redis = new Redis();
$redis->connect('127.0.0.1', (int) $argv[1]);
$message = ($argv[4] ?? '') === 'hex' ? hex2bin($argv[3]) : $argv[3];
// The line a page needs:
$receivers = $redis->publish('ratchet:push:' . $argv[2], $message);
echo $receivers, "\n";
