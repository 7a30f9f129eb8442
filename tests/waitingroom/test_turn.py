from waitingroom.turn import ice_servers, turn_credentials


def test_turn_credentials_follow_the_turn_rest_convention():
    # Expected value computed independently:
    #   printf '%s' "1700003600:visit-7" | openssl dgst -sha1 -hmac "s3cret" -binary | base64
    username, credential = turn_credentials(
        secret="s3cret", user_key="visit-7", ttl_seconds=3600, now=1700000000
    )
    assert username == "1700003600:visit-7"
    assert credential == "NZjJn4A2faEtCF1krh6wink0AJU="


def test_ice_servers_from_settings(settings):
    settings.STUN_URLS = ["stun:turn.example.com:3478"]
    settings.TURN_URLS = ["turn:turn.example.com:3478?transport=udp"]
    settings.TURN_SECRET = "s3cret"
    settings.TURN_CREDENTIAL_TTL = 600
    stun, turn = ice_servers(user_key="staff-1")
    assert stun == {"urls": ["stun:turn.example.com:3478"]}
    assert turn["urls"] == ["turn:turn.example.com:3478?transport=udp"]
    expiry, key = turn["username"].split(":")
    assert key == "staff-1" and int(expiry) > 0
    assert (
        turn["credential"]
        == turn_credentials(secret="s3cret", user_key="staff-1", ttl_seconds=0, now=int(expiry))[1]
    )


def test_no_ice_servers_when_none_configured(settings):
    settings.STUN_URLS, settings.TURN_URLS, settings.TURN_SECRET = [], [], ""
    assert ice_servers(user_key="x") == []
