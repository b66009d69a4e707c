"""The work chats' group robots (政务钉钉, 企业微信, 飞书): cards as each platform's payload, signing, and
one HTTP transport that sorts each platform's answers into delivered, temporary and permanent."""
