; ModuleID = "prefix_sum"
target triple = "nvptx64-nvidia-cuda"
target datalayout = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

define ptx_kernel void @"prefix_sum__scan_reduce"(i64 %"n", ptr noalias readonly align 16 %"x", ptr noalias align 16 %"out", ptr %"partials") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca i32
  %"i" = alloca i64
  %"t.x2" = alloca i32
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".7" = load i64, i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  store i32 0, i32* %"s"
  %".10" = load i64, i64* %"n.1"
  store i32 0, i32* %"s"
  %".12" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".13" = zext i32 %".12" to i64
  %".14" = mul i64 %".13", 1024
  %".15" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".16" = zext i32 %".15" to i64
  %".17" = mul i64 %".16", 4
  %".18" = add i64 %".14", %".17"
  %".19" = add i64 %".18", 4
  %".20" = icmp ule i64 %".19", %".10"
  br i1 %".20", label %"k.full", label %"k.part"
k.full:
  %".22" = add i64 %".18", 0
  store i64 %".22", i64* %"i"
  %".24" = load i32, i32* %"s"
  %".25" = load i64, i64* %"i"
  %".26" = getelementptr inbounds i32, ptr %"x", i64 %".25"
  %".27" = load i32, ptr %".26", align 4
  %".28" = add i32 %".24", %".27"
  store i32 %".28", i32* %"t.x2"
  %".30" = load i32, i32* %"s"
  %".31" = load i64, i64* %"i"
  %".32" = getelementptr inbounds i32, ptr %"x", i64 %".31"
  %".33" = load i32, ptr %".32", align 4
  %".34" = add i32 %".30", %".33"
  store i32 %".34", i32* %"s"
  %".36" = add i64 %".18", 1
  store i64 %".36", i64* %"i"
  %".38" = load i32, i32* %"s"
  %".39" = load i64, i64* %"i"
  %".40" = getelementptr inbounds i32, ptr %"x", i64 %".39"
  %".41" = load i32, ptr %".40", align 4
  %".42" = add i32 %".38", %".41"
  store i32 %".42", i32* %"t.x2"
  %".44" = load i32, i32* %"s"
  %".45" = load i64, i64* %"i"
  %".46" = getelementptr inbounds i32, ptr %"x", i64 %".45"
  %".47" = load i32, ptr %".46", align 4
  %".48" = add i32 %".44", %".47"
  store i32 %".48", i32* %"s"
  %".50" = add i64 %".18", 2
  store i64 %".50", i64* %"i"
  %".52" = load i32, i32* %"s"
  %".53" = load i64, i64* %"i"
  %".54" = getelementptr inbounds i32, ptr %"x", i64 %".53"
  %".55" = load i32, ptr %".54", align 4
  %".56" = add i32 %".52", %".55"
  store i32 %".56", i32* %"t.x2"
  %".58" = load i32, i32* %"s"
  %".59" = load i64, i64* %"i"
  %".60" = getelementptr inbounds i32, ptr %"x", i64 %".59"
  %".61" = load i32, ptr %".60", align 4
  %".62" = add i32 %".58", %".61"
  store i32 %".62", i32* %"s"
  %".64" = add i64 %".18", 3
  store i64 %".64", i64* %"i"
  %".66" = load i32, i32* %"s"
  %".67" = load i64, i64* %"i"
  %".68" = getelementptr inbounds i32, ptr %"x", i64 %".67"
  %".69" = load i32, ptr %".68", align 4
  %".70" = add i32 %".66", %".69"
  store i32 %".70", i32* %"t.x2"
  %".72" = load i32, i32* %"s"
  %".73" = load i64, i64* %"i"
  %".74" = getelementptr inbounds i32, ptr %"x", i64 %".73"
  %".75" = load i32, ptr %".74", align 4
  %".76" = add i32 %".72", %".75"
  store i32 %".76", i32* %"s"
  br label %"k.chunk"
k.part:
  %".79" = add i64 %".18", 0
  %".80" = icmp ult i64 %".79", %".10"
  br i1 %".80", label %"k.then", label %"k.end"
k.chunk:
  %".148" = load i32, i32* %"s"
  %".149" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".150" = zext i32 %".149" to i64
  %".151" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".148", i32 16, i32 31)
  %".152" = add i32 %".148", %".151"
  %".153" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".152", i32 8, i32 31)
  %".154" = add i32 %".152", %".153"
  %".155" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".154", i32 4, i32 31)
  %".156" = add i32 %".154", %".155"
  %".157" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".156", i32 2, i32 31)
  %".158" = add i32 %".156", %".157"
  %".159" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".158", i32 1, i32 31)
  %".160" = add i32 %".158", %".159"
  %".161" = and i64 %".150", 31
  %".162" = lshr i64 %".150", 5
  %".163" = icmp eq i64 %".161", 0
  br i1 %".163", label %"k.then.4", label %"k.end.4"
k.then:
  store i64 %".79", i64* %"i"
  %".83" = load i32, i32* %"s"
  %".84" = load i64, i64* %"i"
  %".85" = getelementptr inbounds i32, ptr %"x", i64 %".84"
  %".86" = load i32, ptr %".85", align 4
  %".87" = add i32 %".83", %".86"
  store i32 %".87", i32* %"t.x2"
  %".89" = load i32, i32* %"s"
  %".90" = load i64, i64* %"i"
  %".91" = getelementptr inbounds i32, ptr %"x", i64 %".90"
  %".92" = load i32, ptr %".91", align 4
  %".93" = add i32 %".89", %".92"
  store i32 %".93", i32* %"s"
  br label %"k.end"
k.end:
  %".96" = add i64 %".18", 1
  %".97" = icmp ult i64 %".96", %".10"
  br i1 %".97", label %"k.then.1", label %"k.end.1"
k.then.1:
  store i64 %".96", i64* %"i"
  %".100" = load i32, i32* %"s"
  %".101" = load i64, i64* %"i"
  %".102" = getelementptr inbounds i32, ptr %"x", i64 %".101"
  %".103" = load i32, ptr %".102", align 4
  %".104" = add i32 %".100", %".103"
  store i32 %".104", i32* %"t.x2"
  %".106" = load i32, i32* %"s"
  %".107" = load i64, i64* %"i"
  %".108" = getelementptr inbounds i32, ptr %"x", i64 %".107"
  %".109" = load i32, ptr %".108", align 4
  %".110" = add i32 %".106", %".109"
  store i32 %".110", i32* %"s"
  br label %"k.end.1"
k.end.1:
  %".113" = add i64 %".18", 2
  %".114" = icmp ult i64 %".113", %".10"
  br i1 %".114", label %"k.then.2", label %"k.end.2"
k.then.2:
  store i64 %".113", i64* %"i"
  %".117" = load i32, i32* %"s"
  %".118" = load i64, i64* %"i"
  %".119" = getelementptr inbounds i32, ptr %"x", i64 %".118"
  %".120" = load i32, ptr %".119", align 4
  %".121" = add i32 %".117", %".120"
  store i32 %".121", i32* %"t.x2"
  %".123" = load i32, i32* %"s"
  %".124" = load i64, i64* %"i"
  %".125" = getelementptr inbounds i32, ptr %"x", i64 %".124"
  %".126" = load i32, ptr %".125", align 4
  %".127" = add i32 %".123", %".126"
  store i32 %".127", i32* %"s"
  br label %"k.end.2"
k.end.2:
  %".130" = add i64 %".18", 3
  %".131" = icmp ult i64 %".130", %".10"
  br i1 %".131", label %"k.then.3", label %"k.end.3"
k.then.3:
  store i64 %".130", i64* %"i"
  %".134" = load i32, i32* %"s"
  %".135" = load i64, i64* %"i"
  %".136" = getelementptr inbounds i32, ptr %"x", i64 %".135"
  %".137" = load i32, ptr %".136", align 4
  %".138" = add i32 %".134", %".137"
  store i32 %".138", i32* %"t.x2"
  %".140" = load i32, i32* %"s"
  %".141" = load i64, i64* %"i"
  %".142" = getelementptr inbounds i32, ptr %"x", i64 %".141"
  %".143" = load i32, ptr %".142", align 4
  %".144" = add i32 %".140", %".143"
  store i32 %".144", i32* %"s"
  br label %"k.end.3"
k.end.3:
  br label %"k.chunk"
k.then.4:
  %".165" = trunc i64 %".162" to i32
  %".166" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"prefix_sum__scan_reduce.shared4", i32 0, i32 %".165"
  store i32 %".160", i32 addrspace(3)* %".166"
  br label %"k.end.4"
k.end.4:
  call void @"llvm.nvvm.barrier0"()
  %".170" = trunc i64 %".161" to i32
  %".171" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"prefix_sum__scan_reduce.shared4", i32 0, i32 %".170"
  %".172" = load i32, i32 addrspace(3)* %".171"
  %".173" = icmp ult i64 %".161", 8
  %".174" = select  i1 %".173", i32 %".172", i32 0
  %".175" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".174", i32 16, i32 31)
  %".176" = add i32 %".174", %".175"
  %".177" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".176", i32 8, i32 31)
  %".178" = add i32 %".176", %".177"
  %".179" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".178", i32 4, i32 31)
  %".180" = add i32 %".178", %".179"
  %".181" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".180", i32 2, i32 31)
  %".182" = add i32 %".180", %".181"
  %".183" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".182", i32 1, i32 31)
  %".184" = add i32 %".182", %".183"
  %".185" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".186" = zext i32 %".185" to i64
  %".187" = icmp eq i64 %".186", 0
  br i1 %".187", label %"k.then.5", label %"k.end.5"
k.then.5:
  %".189" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".190" = zext i32 %".189" to i64
  %".191" = getelementptr inbounds i32, ptr %"partials", i64 %".190"
  store i32 %".184", ptr %".191"
  br label %"k.end.5"
k.end.5:
  ret void
}

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

declare i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 %".1", i32 %".2", i32 %".3", i32 %".4")

@"prefix_sum__scan_reduce.shared4" = internal addrspace(3) global [32 x i32] undef
declare void @"llvm.nvvm.barrier0"()

define ptx_kernel void @"prefix_sum__scan_carry"(i64 %"n", ptr noalias readonly align 16 %"x", ptr noalias align 16 %"out", ptr %"partials", i32 %"blocks") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca i32
  %"i" = alloca i64
  %"t.x2" = alloca i32
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  %".9" = load i64, i64* %"n.1"
  %".10" = zext i32 %"blocks" to i64
  %".11" = add i64 %".10", 255
  %".12" = udiv i64 %".11", 256
  %".13" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".14" = zext i32 %".13" to i64
  %".15" = mul i64 %".14", %".12"
  %".16" = add i64 %".15", %".12"
  %".17" = icmp ult i64 %".16", %".10"
  %".18" = select  i1 %".17", i64 %".16", i64 %".10"
  store i32 0, i32* %"s"
  store i64 %".15", i64* %"pos"
  br label %"k.head"
k.head:
  %".22" = load i64, i64* %"pos"
  %".23" = icmp ult i64 %".22", %".18"
  br i1 %".23", label %"k.loop", label %"k.done"
k.loop:
  %".25" = load i32, i32* %"s"
  %".26" = getelementptr inbounds i32, ptr %"partials", i64 %".22"
  %".27" = load i32, ptr %".26"
  %".28" = add i32 %".25", %".27"
  store i32 %".28", i32* %"s"
  %".30" = load i64, i64* %"pos"
  %".31" = add i64 %".30", 1
  store i64 %".31", i64* %"pos"
  br label %"k.head"
k.done:
  %".34" = load i32, i32* %"s"
  %".35" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".36" = zext i32 %".35" to i64
  %".37" = trunc i64 %".36" to i32
  %".38" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".37"
  store i32 %".34", i32 addrspace(3)* %".38"
  call void @"llvm.nvvm.barrier0"()
  %".41" = icmp uge i64 %".36", 1
  %".42" = sub i64 %".36", 1
  %".43" = select  i1 %".41", i64 %".42", i64 %".36"
  %".44" = trunc i64 %".43" to i32
  %".45" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".44"
  %".46" = load i32, i32 addrspace(3)* %".45"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".41", label %"k.then", label %"k.end"
k.then:
  %".49" = load i32, i32 addrspace(3)* %".38"
  %".50" = add i32 %".46", %".49"
  store i32 %".50", i32 addrspace(3)* %".38"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".54" = icmp uge i64 %".36", 2
  %".55" = sub i64 %".36", 2
  %".56" = select  i1 %".54", i64 %".55", i64 %".36"
  %".57" = trunc i64 %".56" to i32
  %".58" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".57"
  %".59" = load i32, i32 addrspace(3)* %".58"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".54", label %"k.then.1", label %"k.end.1"
k.then.1:
  %".62" = load i32, i32 addrspace(3)* %".38"
  %".63" = add i32 %".59", %".62"
  store i32 %".63", i32 addrspace(3)* %".38"
  br label %"k.end.1"
k.end.1:
  call void @"llvm.nvvm.barrier0"()
  %".67" = icmp uge i64 %".36", 4
  %".68" = sub i64 %".36", 4
  %".69" = select  i1 %".67", i64 %".68", i64 %".36"
  %".70" = trunc i64 %".69" to i32
  %".71" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".70"
  %".72" = load i32, i32 addrspace(3)* %".71"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".67", label %"k.then.2", label %"k.end.2"
k.then.2:
  %".75" = load i32, i32 addrspace(3)* %".38"
  %".76" = add i32 %".72", %".75"
  store i32 %".76", i32 addrspace(3)* %".38"
  br label %"k.end.2"
k.end.2:
  call void @"llvm.nvvm.barrier0"()
  %".80" = icmp uge i64 %".36", 8
  %".81" = sub i64 %".36", 8
  %".82" = select  i1 %".80", i64 %".81", i64 %".36"
  %".83" = trunc i64 %".82" to i32
  %".84" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".83"
  %".85" = load i32, i32 addrspace(3)* %".84"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".80", label %"k.then.3", label %"k.end.3"
k.then.3:
  %".88" = load i32, i32 addrspace(3)* %".38"
  %".89" = add i32 %".85", %".88"
  store i32 %".89", i32 addrspace(3)* %".38"
  br label %"k.end.3"
k.end.3:
  call void @"llvm.nvvm.barrier0"()
  %".93" = icmp uge i64 %".36", 16
  %".94" = sub i64 %".36", 16
  %".95" = select  i1 %".93", i64 %".94", i64 %".36"
  %".96" = trunc i64 %".95" to i32
  %".97" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".96"
  %".98" = load i32, i32 addrspace(3)* %".97"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".93", label %"k.then.4", label %"k.end.4"
k.then.4:
  %".101" = load i32, i32 addrspace(3)* %".38"
  %".102" = add i32 %".98", %".101"
  store i32 %".102", i32 addrspace(3)* %".38"
  br label %"k.end.4"
k.end.4:
  call void @"llvm.nvvm.barrier0"()
  %".106" = icmp uge i64 %".36", 32
  %".107" = sub i64 %".36", 32
  %".108" = select  i1 %".106", i64 %".107", i64 %".36"
  %".109" = trunc i64 %".108" to i32
  %".110" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".109"
  %".111" = load i32, i32 addrspace(3)* %".110"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".106", label %"k.then.5", label %"k.end.5"
k.then.5:
  %".114" = load i32, i32 addrspace(3)* %".38"
  %".115" = add i32 %".111", %".114"
  store i32 %".115", i32 addrspace(3)* %".38"
  br label %"k.end.5"
k.end.5:
  call void @"llvm.nvvm.barrier0"()
  %".119" = icmp uge i64 %".36", 64
  %".120" = sub i64 %".36", 64
  %".121" = select  i1 %".119", i64 %".120", i64 %".36"
  %".122" = trunc i64 %".121" to i32
  %".123" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".122"
  %".124" = load i32, i32 addrspace(3)* %".123"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".119", label %"k.then.6", label %"k.end.6"
k.then.6:
  %".127" = load i32, i32 addrspace(3)* %".38"
  %".128" = add i32 %".124", %".127"
  store i32 %".128", i32 addrspace(3)* %".38"
  br label %"k.end.6"
k.end.6:
  call void @"llvm.nvvm.barrier0"()
  %".132" = icmp uge i64 %".36", 128
  %".133" = sub i64 %".36", 128
  %".134" = select  i1 %".132", i64 %".133", i64 %".36"
  %".135" = trunc i64 %".134" to i32
  %".136" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".135"
  %".137" = load i32, i32 addrspace(3)* %".136"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".132", label %"k.then.7", label %"k.end.7"
k.then.7:
  %".140" = load i32, i32 addrspace(3)* %".38"
  %".141" = add i32 %".137", %".140"
  store i32 %".141", i32 addrspace(3)* %".38"
  br label %"k.end.7"
k.end.7:
  call void @"llvm.nvvm.barrier0"()
  %".145" = icmp ugt i64 %".36", 0
  %".146" = sub i64 %".36", 1
  %".147" = select  i1 %".145", i64 %".146", i64 %".36"
  %".148" = trunc i64 %".147" to i32
  %".149" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".148"
  %".150" = load i32, i32 addrspace(3)* %".149"
  %".151" = select  i1 %".145", i32 %".150", i32 0
  store i32 %".151", i32* %"s"
  store i64 %".15", i64* %"pos"
  br label %"k.head.1"
k.head.1:
  %".155" = load i64, i64* %"pos"
  %".156" = icmp ult i64 %".155", %".18"
  br i1 %".156", label %"k.loop.1", label %"k.done.1"
k.loop.1:
  %".158" = getelementptr inbounds i32, ptr %"partials", i64 %".155"
  %".159" = load i32, ptr %".158"
  %".160" = load i32, i32* %"s"
  %".161" = getelementptr inbounds i32, ptr %"partials", i64 %".155"
  store i32 %".160", ptr %".161"
  %".163" = add i32 %".160", %".159"
  store i32 %".163", i32* %"s"
  %".165" = load i64, i64* %"pos"
  %".166" = add i64 %".165", 1
  store i64 %".166", i64* %"pos"
  br label %"k.head.1"
k.done.1:
  ret void
}

@"prefix_sum__scan_carry.shared7" = internal addrspace(3) global [256 x i32] undef
define ptx_kernel void @"prefix_sum__scan_apply"(i64 %"n", ptr noalias readonly align 16 %"x", ptr noalias align 16 %"out", ptr %"partials") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca i32
  %"i" = alloca i64
  %"t.x2" = alloca i32
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".7" = load i64, i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  store i32 0, i32* %"s"
  %".10" = load i64, i64* %"n.1"
  %".11" = load i32, i32* %"s"
  store i32 0, i32* %"s"
  %".13" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".14" = zext i32 %".13" to i64
  %".15" = mul i64 %".14", 1024
  %".16" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".17" = zext i32 %".16" to i64
  %".18" = mul i64 %".17", 4
  %".19" = add i64 %".15", %".18"
  %".20" = add i64 %".19", 4
  %".21" = icmp ule i64 %".20", %".10"
  br i1 %".21", label %"k.full", label %"k.part"
k.full:
  %".23" = add i64 %".19", 0
  store i64 %".23", i64* %"i"
  %".25" = load i32, i32* %"s"
  %".26" = load i64, i64* %"i"
  %".27" = getelementptr inbounds i32, ptr %"x", i64 %".26"
  %".28" = load i32, ptr %".27", align 4
  %".29" = add i32 %".25", %".28"
  store i32 %".29", i32* %"t.x2"
  %".31" = load i32, i32* %"s"
  %".32" = load i64, i64* %"i"
  %".33" = getelementptr inbounds i32, ptr %"x", i64 %".32"
  %".34" = load i32, ptr %".33", align 4
  %".35" = add i32 %".31", %".34"
  store i32 %".35", i32* %"s"
  %".37" = add i64 %".19", 1
  store i64 %".37", i64* %"i"
  %".39" = load i32, i32* %"s"
  %".40" = load i64, i64* %"i"
  %".41" = getelementptr inbounds i32, ptr %"x", i64 %".40"
  %".42" = load i32, ptr %".41", align 4
  %".43" = add i32 %".39", %".42"
  store i32 %".43", i32* %"t.x2"
  %".45" = load i32, i32* %"s"
  %".46" = load i64, i64* %"i"
  %".47" = getelementptr inbounds i32, ptr %"x", i64 %".46"
  %".48" = load i32, ptr %".47", align 4
  %".49" = add i32 %".45", %".48"
  store i32 %".49", i32* %"s"
  %".51" = add i64 %".19", 2
  store i64 %".51", i64* %"i"
  %".53" = load i32, i32* %"s"
  %".54" = load i64, i64* %"i"
  %".55" = getelementptr inbounds i32, ptr %"x", i64 %".54"
  %".56" = load i32, ptr %".55", align 4
  %".57" = add i32 %".53", %".56"
  store i32 %".57", i32* %"t.x2"
  %".59" = load i32, i32* %"s"
  %".60" = load i64, i64* %"i"
  %".61" = getelementptr inbounds i32, ptr %"x", i64 %".60"
  %".62" = load i32, ptr %".61", align 4
  %".63" = add i32 %".59", %".62"
  store i32 %".63", i32* %"s"
  %".65" = add i64 %".19", 3
  store i64 %".65", i64* %"i"
  %".67" = load i32, i32* %"s"
  %".68" = load i64, i64* %"i"
  %".69" = getelementptr inbounds i32, ptr %"x", i64 %".68"
  %".70" = load i32, ptr %".69", align 4
  %".71" = add i32 %".67", %".70"
  store i32 %".71", i32* %"t.x2"
  %".73" = load i32, i32* %"s"
  %".74" = load i64, i64* %"i"
  %".75" = getelementptr inbounds i32, ptr %"x", i64 %".74"
  %".76" = load i32, ptr %".75", align 4
  %".77" = add i32 %".73", %".76"
  store i32 %".77", i32* %"s"
  br label %"k.chunk"
k.part:
  %".80" = add i64 %".19", 0
  %".81" = icmp ult i64 %".80", %".10"
  br i1 %".81", label %"k.then", label %"k.end"
k.chunk:
  %".149" = load i32, i32* %"s"
  %".150" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".151" = zext i32 %".150" to i64
  %".152" = trunc i64 %".151" to i32
  %".153" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".152"
  store i32 %".149", i32 addrspace(3)* %".153"
  call void @"llvm.nvvm.barrier0"()
  %".156" = icmp uge i64 %".151", 1
  %".157" = sub i64 %".151", 1
  %".158" = select  i1 %".156", i64 %".157", i64 %".151"
  %".159" = trunc i64 %".158" to i32
  %".160" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".159"
  %".161" = load i32, i32 addrspace(3)* %".160"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".156", label %"k.then.4", label %"k.end.4"
k.then:
  store i64 %".80", i64* %"i"
  %".84" = load i32, i32* %"s"
  %".85" = load i64, i64* %"i"
  %".86" = getelementptr inbounds i32, ptr %"x", i64 %".85"
  %".87" = load i32, ptr %".86", align 4
  %".88" = add i32 %".84", %".87"
  store i32 %".88", i32* %"t.x2"
  %".90" = load i32, i32* %"s"
  %".91" = load i64, i64* %"i"
  %".92" = getelementptr inbounds i32, ptr %"x", i64 %".91"
  %".93" = load i32, ptr %".92", align 4
  %".94" = add i32 %".90", %".93"
  store i32 %".94", i32* %"s"
  br label %"k.end"
k.end:
  %".97" = add i64 %".19", 1
  %".98" = icmp ult i64 %".97", %".10"
  br i1 %".98", label %"k.then.1", label %"k.end.1"
k.then.1:
  store i64 %".97", i64* %"i"
  %".101" = load i32, i32* %"s"
  %".102" = load i64, i64* %"i"
  %".103" = getelementptr inbounds i32, ptr %"x", i64 %".102"
  %".104" = load i32, ptr %".103", align 4
  %".105" = add i32 %".101", %".104"
  store i32 %".105", i32* %"t.x2"
  %".107" = load i32, i32* %"s"
  %".108" = load i64, i64* %"i"
  %".109" = getelementptr inbounds i32, ptr %"x", i64 %".108"
  %".110" = load i32, ptr %".109", align 4
  %".111" = add i32 %".107", %".110"
  store i32 %".111", i32* %"s"
  br label %"k.end.1"
k.end.1:
  %".114" = add i64 %".19", 2
  %".115" = icmp ult i64 %".114", %".10"
  br i1 %".115", label %"k.then.2", label %"k.end.2"
k.then.2:
  store i64 %".114", i64* %"i"
  %".118" = load i32, i32* %"s"
  %".119" = load i64, i64* %"i"
  %".120" = getelementptr inbounds i32, ptr %"x", i64 %".119"
  %".121" = load i32, ptr %".120", align 4
  %".122" = add i32 %".118", %".121"
  store i32 %".122", i32* %"t.x2"
  %".124" = load i32, i32* %"s"
  %".125" = load i64, i64* %"i"
  %".126" = getelementptr inbounds i32, ptr %"x", i64 %".125"
  %".127" = load i32, ptr %".126", align 4
  %".128" = add i32 %".124", %".127"
  store i32 %".128", i32* %"s"
  br label %"k.end.2"
k.end.2:
  %".131" = add i64 %".19", 3
  %".132" = icmp ult i64 %".131", %".10"
  br i1 %".132", label %"k.then.3", label %"k.end.3"
k.then.3:
  store i64 %".131", i64* %"i"
  %".135" = load i32, i32* %"s"
  %".136" = load i64, i64* %"i"
  %".137" = getelementptr inbounds i32, ptr %"x", i64 %".136"
  %".138" = load i32, ptr %".137", align 4
  %".139" = add i32 %".135", %".138"
  store i32 %".139", i32* %"t.x2"
  %".141" = load i32, i32* %"s"
  %".142" = load i64, i64* %"i"
  %".143" = getelementptr inbounds i32, ptr %"x", i64 %".142"
  %".144" = load i32, ptr %".143", align 4
  %".145" = add i32 %".141", %".144"
  store i32 %".145", i32* %"s"
  br label %"k.end.3"
k.end.3:
  br label %"k.chunk"
k.then.4:
  %".164" = load i32, i32 addrspace(3)* %".153"
  %".165" = add i32 %".161", %".164"
  store i32 %".165", i32 addrspace(3)* %".153"
  br label %"k.end.4"
k.end.4:
  call void @"llvm.nvvm.barrier0"()
  %".169" = icmp uge i64 %".151", 2
  %".170" = sub i64 %".151", 2
  %".171" = select  i1 %".169", i64 %".170", i64 %".151"
  %".172" = trunc i64 %".171" to i32
  %".173" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".172"
  %".174" = load i32, i32 addrspace(3)* %".173"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".169", label %"k.then.5", label %"k.end.5"
k.then.5:
  %".177" = load i32, i32 addrspace(3)* %".153"
  %".178" = add i32 %".174", %".177"
  store i32 %".178", i32 addrspace(3)* %".153"
  br label %"k.end.5"
k.end.5:
  call void @"llvm.nvvm.barrier0"()
  %".182" = icmp uge i64 %".151", 4
  %".183" = sub i64 %".151", 4
  %".184" = select  i1 %".182", i64 %".183", i64 %".151"
  %".185" = trunc i64 %".184" to i32
  %".186" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".185"
  %".187" = load i32, i32 addrspace(3)* %".186"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".182", label %"k.then.6", label %"k.end.6"
k.then.6:
  %".190" = load i32, i32 addrspace(3)* %".153"
  %".191" = add i32 %".187", %".190"
  store i32 %".191", i32 addrspace(3)* %".153"
  br label %"k.end.6"
k.end.6:
  call void @"llvm.nvvm.barrier0"()
  %".195" = icmp uge i64 %".151", 8
  %".196" = sub i64 %".151", 8
  %".197" = select  i1 %".195", i64 %".196", i64 %".151"
  %".198" = trunc i64 %".197" to i32
  %".199" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".198"
  %".200" = load i32, i32 addrspace(3)* %".199"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".195", label %"k.then.7", label %"k.end.7"
k.then.7:
  %".203" = load i32, i32 addrspace(3)* %".153"
  %".204" = add i32 %".200", %".203"
  store i32 %".204", i32 addrspace(3)* %".153"
  br label %"k.end.7"
k.end.7:
  call void @"llvm.nvvm.barrier0"()
  %".208" = icmp uge i64 %".151", 16
  %".209" = sub i64 %".151", 16
  %".210" = select  i1 %".208", i64 %".209", i64 %".151"
  %".211" = trunc i64 %".210" to i32
  %".212" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".211"
  %".213" = load i32, i32 addrspace(3)* %".212"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".208", label %"k.then.8", label %"k.end.8"
k.then.8:
  %".216" = load i32, i32 addrspace(3)* %".153"
  %".217" = add i32 %".213", %".216"
  store i32 %".217", i32 addrspace(3)* %".153"
  br label %"k.end.8"
k.end.8:
  call void @"llvm.nvvm.barrier0"()
  %".221" = icmp uge i64 %".151", 32
  %".222" = sub i64 %".151", 32
  %".223" = select  i1 %".221", i64 %".222", i64 %".151"
  %".224" = trunc i64 %".223" to i32
  %".225" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".224"
  %".226" = load i32, i32 addrspace(3)* %".225"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".221", label %"k.then.9", label %"k.end.9"
k.then.9:
  %".229" = load i32, i32 addrspace(3)* %".153"
  %".230" = add i32 %".226", %".229"
  store i32 %".230", i32 addrspace(3)* %".153"
  br label %"k.end.9"
k.end.9:
  call void @"llvm.nvvm.barrier0"()
  %".234" = icmp uge i64 %".151", 64
  %".235" = sub i64 %".151", 64
  %".236" = select  i1 %".234", i64 %".235", i64 %".151"
  %".237" = trunc i64 %".236" to i32
  %".238" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".237"
  %".239" = load i32, i32 addrspace(3)* %".238"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".234", label %"k.then.10", label %"k.end.10"
k.then.10:
  %".242" = load i32, i32 addrspace(3)* %".153"
  %".243" = add i32 %".239", %".242"
  store i32 %".243", i32 addrspace(3)* %".153"
  br label %"k.end.10"
k.end.10:
  call void @"llvm.nvvm.barrier0"()
  %".247" = icmp uge i64 %".151", 128
  %".248" = sub i64 %".151", 128
  %".249" = select  i1 %".247", i64 %".248", i64 %".151"
  %".250" = trunc i64 %".249" to i32
  %".251" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".250"
  %".252" = load i32, i32 addrspace(3)* %".251"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".247", label %"k.then.11", label %"k.end.11"
k.then.11:
  %".255" = load i32, i32 addrspace(3)* %".153"
  %".256" = add i32 %".252", %".255"
  store i32 %".256", i32 addrspace(3)* %".153"
  br label %"k.end.11"
k.end.11:
  call void @"llvm.nvvm.barrier0"()
  %".260" = icmp ugt i64 %".151", 0
  %".261" = sub i64 %".151", 1
  %".262" = select  i1 %".260", i64 %".261", i64 %".151"
  %".263" = trunc i64 %".262" to i32
  %".264" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".263"
  %".265" = load i32, i32 addrspace(3)* %".264"
  %".266" = select  i1 %".260", i32 %".265", i32 0
  %".267" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".268" = zext i32 %".267" to i64
  %".269" = getelementptr inbounds i32, ptr %"partials", i64 %".268"
  %".270" = load i32, ptr %".269"
  %".271" = add i32 %".11", %".270"
  %".272" = add i32 %".271", %".266"
  store i32 %".272", i32* %"s"
  %".274" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".275" = zext i32 %".274" to i64
  %".276" = mul i64 %".275", 4
  %".277" = add i64 %".15", %".276"
  %".278" = add i64 %".277", 4
  %".279" = icmp ule i64 %".278", %".10"
  br i1 %".279", label %"k.full.1", label %"k.part.1"
k.full.1:
  %".281" = add i64 %".277", 0
  store i64 %".281", i64* %"i"
  %".283" = load i32, i32* %"s"
  %".284" = load i64, i64* %"i"
  %".285" = getelementptr inbounds i32, ptr %"x", i64 %".284"
  %".286" = load i32, ptr %".285", align 4
  %".287" = add i32 %".283", %".286"
  store i32 %".287", i32* %"t.x2"
  %".289" = load i32, i32* %"s"
  %".290" = load i64, i64* %"i"
  %".291" = getelementptr inbounds i32, ptr %"x", i64 %".290"
  %".292" = load i32, ptr %".291", align 4
  %".293" = add i32 %".289", %".292"
  store i32 %".293", i32* %"s"
  %".295" = load i64, i64* %"i"
  %".296" = load i32, i32* %"t.x2"
  %".297" = getelementptr inbounds i32, ptr %"out", i64 %".295"
  store i32 %".296", ptr %".297", align 4
  %".299" = add i64 %".277", 1
  store i64 %".299", i64* %"i"
  %".301" = load i32, i32* %"s"
  %".302" = load i64, i64* %"i"
  %".303" = getelementptr inbounds i32, ptr %"x", i64 %".302"
  %".304" = load i32, ptr %".303", align 4
  %".305" = add i32 %".301", %".304"
  store i32 %".305", i32* %"t.x2"
  %".307" = load i32, i32* %"s"
  %".308" = load i64, i64* %"i"
  %".309" = getelementptr inbounds i32, ptr %"x", i64 %".308"
  %".310" = load i32, ptr %".309", align 4
  %".311" = add i32 %".307", %".310"
  store i32 %".311", i32* %"s"
  %".313" = load i64, i64* %"i"
  %".314" = load i32, i32* %"t.x2"
  %".315" = getelementptr inbounds i32, ptr %"out", i64 %".313"
  store i32 %".314", ptr %".315", align 4
  %".317" = add i64 %".277", 2
  store i64 %".317", i64* %"i"
  %".319" = load i32, i32* %"s"
  %".320" = load i64, i64* %"i"
  %".321" = getelementptr inbounds i32, ptr %"x", i64 %".320"
  %".322" = load i32, ptr %".321", align 4
  %".323" = add i32 %".319", %".322"
  store i32 %".323", i32* %"t.x2"
  %".325" = load i32, i32* %"s"
  %".326" = load i64, i64* %"i"
  %".327" = getelementptr inbounds i32, ptr %"x", i64 %".326"
  %".328" = load i32, ptr %".327", align 4
  %".329" = add i32 %".325", %".328"
  store i32 %".329", i32* %"s"
  %".331" = load i64, i64* %"i"
  %".332" = load i32, i32* %"t.x2"
  %".333" = getelementptr inbounds i32, ptr %"out", i64 %".331"
  store i32 %".332", ptr %".333", align 4
  %".335" = add i64 %".277", 3
  store i64 %".335", i64* %"i"
  %".337" = load i32, i32* %"s"
  %".338" = load i64, i64* %"i"
  %".339" = getelementptr inbounds i32, ptr %"x", i64 %".338"
  %".340" = load i32, ptr %".339", align 4
  %".341" = add i32 %".337", %".340"
  store i32 %".341", i32* %"t.x2"
  %".343" = load i32, i32* %"s"
  %".344" = load i64, i64* %"i"
  %".345" = getelementptr inbounds i32, ptr %"x", i64 %".344"
  %".346" = load i32, ptr %".345", align 4
  %".347" = add i32 %".343", %".346"
  store i32 %".347", i32* %"s"
  %".349" = load i64, i64* %"i"
  %".350" = load i32, i32* %"t.x2"
  %".351" = getelementptr inbounds i32, ptr %"out", i64 %".349"
  store i32 %".350", ptr %".351", align 4
  br label %"k.chunk.1"
k.part.1:
  %".354" = add i64 %".277", 0
  %".355" = icmp ult i64 %".354", %".10"
  br i1 %".355", label %"k.then.12", label %"k.end.12"
k.chunk.1:
  ret void
k.then.12:
  store i64 %".354", i64* %"i"
  %".358" = load i32, i32* %"s"
  %".359" = load i64, i64* %"i"
  %".360" = getelementptr inbounds i32, ptr %"x", i64 %".359"
  %".361" = load i32, ptr %".360", align 4
  %".362" = add i32 %".358", %".361"
  store i32 %".362", i32* %"t.x2"
  %".364" = load i32, i32* %"s"
  %".365" = load i64, i64* %"i"
  %".366" = getelementptr inbounds i32, ptr %"x", i64 %".365"
  %".367" = load i32, ptr %".366", align 4
  %".368" = add i32 %".364", %".367"
  store i32 %".368", i32* %"s"
  %".370" = load i64, i64* %"i"
  %".371" = load i32, i32* %"t.x2"
  %".372" = getelementptr inbounds i32, ptr %"out", i64 %".370"
  store i32 %".371", ptr %".372", align 4
  br label %"k.end.12"
k.end.12:
  %".375" = add i64 %".277", 1
  %".376" = icmp ult i64 %".375", %".10"
  br i1 %".376", label %"k.then.13", label %"k.end.13"
k.then.13:
  store i64 %".375", i64* %"i"
  %".379" = load i32, i32* %"s"
  %".380" = load i64, i64* %"i"
  %".381" = getelementptr inbounds i32, ptr %"x", i64 %".380"
  %".382" = load i32, ptr %".381", align 4
  %".383" = add i32 %".379", %".382"
  store i32 %".383", i32* %"t.x2"
  %".385" = load i32, i32* %"s"
  %".386" = load i64, i64* %"i"
  %".387" = getelementptr inbounds i32, ptr %"x", i64 %".386"
  %".388" = load i32, ptr %".387", align 4
  %".389" = add i32 %".385", %".388"
  store i32 %".389", i32* %"s"
  %".391" = load i64, i64* %"i"
  %".392" = load i32, i32* %"t.x2"
  %".393" = getelementptr inbounds i32, ptr %"out", i64 %".391"
  store i32 %".392", ptr %".393", align 4
  br label %"k.end.13"
k.end.13:
  %".396" = add i64 %".277", 2
  %".397" = icmp ult i64 %".396", %".10"
  br i1 %".397", label %"k.then.14", label %"k.end.14"
k.then.14:
  store i64 %".396", i64* %"i"
  %".400" = load i32, i32* %"s"
  %".401" = load i64, i64* %"i"
  %".402" = getelementptr inbounds i32, ptr %"x", i64 %".401"
  %".403" = load i32, ptr %".402", align 4
  %".404" = add i32 %".400", %".403"
  store i32 %".404", i32* %"t.x2"
  %".406" = load i32, i32* %"s"
  %".407" = load i64, i64* %"i"
  %".408" = getelementptr inbounds i32, ptr %"x", i64 %".407"
  %".409" = load i32, ptr %".408", align 4
  %".410" = add i32 %".406", %".409"
  store i32 %".410", i32* %"s"
  %".412" = load i64, i64* %"i"
  %".413" = load i32, i32* %"t.x2"
  %".414" = getelementptr inbounds i32, ptr %"out", i64 %".412"
  store i32 %".413", ptr %".414", align 4
  br label %"k.end.14"
k.end.14:
  %".417" = add i64 %".277", 3
  %".418" = icmp ult i64 %".417", %".10"
  br i1 %".418", label %"k.then.15", label %"k.end.15"
k.then.15:
  store i64 %".417", i64* %"i"
  %".421" = load i32, i32* %"s"
  %".422" = load i64, i64* %"i"
  %".423" = getelementptr inbounds i32, ptr %"x", i64 %".422"
  %".424" = load i32, ptr %".423", align 4
  %".425" = add i32 %".421", %".424"
  store i32 %".425", i32* %"t.x2"
  %".427" = load i32, i32* %"s"
  %".428" = load i64, i64* %"i"
  %".429" = getelementptr inbounds i32, ptr %"x", i64 %".428"
  %".430" = load i32, ptr %".429", align 4
  %".431" = add i32 %".427", %".430"
  store i32 %".431", i32* %"s"
  %".433" = load i64, i64* %"i"
  %".434" = load i32, i32* %"t.x2"
  %".435" = getelementptr inbounds i32, ptr %"out", i64 %".433"
  store i32 %".434", ptr %".435", align 4
  br label %"k.end.15"
k.end.15:
  br label %"k.chunk.1"
}

@"prefix_sum__scan_apply.shared9" = internal addrspace(3) global [256 x i32] undef