<?php
// Creates a session the way a PHP site on Redis does, and prints its id.
// Usage: php session.php <save path, e.g. tcp://127.0.0.1:6379> <php|php_serialize> <user>
ini_set('session.save_handler', 'redis');
ini_set('session.save_path', $argv[1]);
ini_set('session.serialize_handler', $argv[2]);
ini_set('session.use_cookies', '0'); // no HTTP response to set a cookie on in the CLI
if (!session_start()) {
    fwrite(STDERR, "session_start failed\n");
    exit(1);
}
$_SESSION['user'] = $argv[3];
$_SESSION['visits'] = 3;
echo session_id(), "\n";
session_write_close();
