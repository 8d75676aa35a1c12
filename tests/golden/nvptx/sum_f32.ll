; ModuleID = "sum_f32"
target triple = "nvptx64-nvidia-cuda"
target datalayout = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

define ptx_kernel void @"sum_f32__fold"(i64 %"n", ptr noalias readonly align 16 %"x", ptr %"partials") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca float
  %"i" = alloca i64
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  %"kk" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".6" = load i64, i64* %"n.1"
  store float              0x0, float* %"s"
  %".8" = load i64, i64* %"n.1"
  store float 0x8000000000000000, float* %"s"
  %".10" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".11" = zext i32 %".10" to i64
  %".12" = mul i64 %".11", 1024
  %".13" = call i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()
  %".14" = zext i32 %".13" to i64
  %".15" = mul i64 %".14", 1024
  store i64 %".12", i64* %"base"
  br label %"k.head"
k.head:
  %".18" = load i64, i64* %"base"
  %".19" = icmp ult i64 %".18", %".8"
  br i1 %".19", label %"k.loop", label %"k.done"
k.loop:
  %".21" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".22" = zext i32 %".21" to i64
  %".23" = mul i64 %".22", 4
  %".24" = add i64 %".18", %".23"
  %".25" = add i64 %".24", 4
  %".26" = icmp ule i64 %".25", %".8"
  br i1 %".26", label %"k.full", label %"k.part"
k.done:
  %".85" = load float, float* %"s"
  %".86" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".87" = zext i32 %".86" to i64
  %".88" = bitcast float %".85" to i32
  %".89" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".88", i32 16, i32 31)
  %".90" = bitcast i32 %".89" to float
  %".91" = fadd float %".85", %".90"
  %".92" = bitcast float %".91" to i32
  %".93" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".92", i32 8, i32 31)
  %".94" = bitcast i32 %".93" to float
  %".95" = fadd float %".91", %".94"
  %".96" = bitcast float %".95" to i32
  %".97" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".96", i32 4, i32 31)
  %".98" = bitcast i32 %".97" to float
  %".99" = fadd float %".95", %".98"
  %".100" = bitcast float %".99" to i32
  %".101" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".100", i32 2, i32 31)
  %".102" = bitcast i32 %".101" to float
  %".103" = fadd float %".99", %".102"
  %".104" = bitcast float %".103" to i32
  %".105" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".104", i32 1, i32 31)
  %".106" = bitcast i32 %".105" to float
  %".107" = fadd float %".103", %".106"
  %".108" = and i64 %".87", 31
  %".109" = lshr i64 %".87", 5
  %".110" = icmp eq i64 %".108", 0
  br i1 %".110", label %"k.then", label %"k.end"
k.full:
  %".28" = add i64 %".24", 0
  store i64 %".28", i64* %"i"
  %".30" = load float, float* %"s"
  %".31" = load i64, i64* %"i"
  %".32" = getelementptr inbounds float, ptr %"x", i64 %".31"
  %".33" = load float, ptr %".32", align 4
  %".34" = fadd float %".30", %".33"
  store float %".34", float* %"s"
  %".36" = add i64 %".24", 1
  store i64 %".36", i64* %"i"
  %".38" = load float, float* %"s"
  %".39" = load i64, i64* %"i"
  %".40" = getelementptr inbounds float, ptr %"x", i64 %".39"
  %".41" = load float, ptr %".40", align 4
  %".42" = fadd float %".38", %".41"
  store float %".42", float* %"s"
  %".44" = add i64 %".24", 2
  store i64 %".44", i64* %"i"
  %".46" = load float, float* %"s"
  %".47" = load i64, i64* %"i"
  %".48" = getelementptr inbounds float, ptr %"x", i64 %".47"
  %".49" = load float, ptr %".48", align 4
  %".50" = fadd float %".46", %".49"
  store float %".50", float* %"s"
  %".52" = add i64 %".24", 3
  store i64 %".52", i64* %"i"
  %".54" = load float, float* %"s"
  %".55" = load i64, i64* %"i"
  %".56" = getelementptr inbounds float, ptr %"x", i64 %".55"
  %".57" = load float, ptr %".56", align 4
  %".58" = fadd float %".54", %".57"
  store float %".58", float* %"s"
  br label %"k.chunk"
k.part:
  %".61" = add i64 %".24", 4
  %".62" = icmp ult i64 %".61", %".8"
  %".63" = select  i1 %".62", i64 %".61", i64 %".8"
  store i64 %".24", i64* %"pos"
  br label %"k.head.1"
k.chunk:
  %".81" = load i64, i64* %"base"
  %".82" = add i64 %".81", %".15"
  store i64 %".82", i64* %"base"
  br label %"k.head"
k.head.1:
  %".66" = load i64, i64* %"pos"
  %".67" = icmp ult i64 %".66", %".63"
  br i1 %".67", label %"k.loop.1", label %"k.done.1"
k.loop.1:
  store i64 %".66", i64* %"i"
  %".70" = load float, float* %"s"
  %".71" = load i64, i64* %"i"
  %".72" = getelementptr inbounds float, ptr %"x", i64 %".71"
  %".73" = load float, ptr %".72", align 4
  %".74" = fadd float %".70", %".73"
  store float %".74", float* %"s"
  %".76" = load i64, i64* %"pos"
  %".77" = add i64 %".76", 1
  store i64 %".77", i64* %"pos"
  br label %"k.head.1"
k.done.1:
  br label %"k.chunk"
k.then:
  %".112" = trunc i64 %".109" to i32
  %".113" = getelementptr inbounds [32 x float], [32 x float] addrspace(3)* @"sum_f32__fold.shared5", i32 0, i32 %".112"
  store float %".107", float addrspace(3)* %".113"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".117" = trunc i64 %".108" to i32
  %".118" = getelementptr inbounds [32 x float], [32 x float] addrspace(3)* @"sum_f32__fold.shared5", i32 0, i32 %".117"
  %".119" = load float, float addrspace(3)* %".118"
  %".120" = icmp ult i64 %".108", 8
  %".121" = select  i1 %".120", float %".119", float 0x8000000000000000
  %".122" = bitcast float %".121" to i32
  %".123" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".122", i32 16, i32 31)
  %".124" = bitcast i32 %".123" to float
  %".125" = fadd float %".121", %".124"
  %".126" = bitcast float %".125" to i32
  %".127" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".126", i32 8, i32 31)
  %".128" = bitcast i32 %".127" to float
  %".129" = fadd float %".125", %".128"
  %".130" = bitcast float %".129" to i32
  %".131" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".130", i32 4, i32 31)
  %".132" = bitcast i32 %".131" to float
  %".133" = fadd float %".129", %".132"
  %".134" = bitcast float %".133" to i32
  %".135" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".134", i32 2, i32 31)
  %".136" = bitcast i32 %".135" to float
  %".137" = fadd float %".133", %".136"
  %".138" = bitcast float %".137" to i32
  %".139" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".138", i32 1, i32 31)
  %".140" = bitcast i32 %".139" to float
  %".141" = fadd float %".137", %".140"
  %".142" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".143" = zext i32 %".142" to i64
  %".144" = icmp eq i64 %".143", 0
  br i1 %".144", label %"k.then.1", label %"k.end.1"
k.then.1:
  %".146" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".147" = zext i32 %".146" to i64
  %".148" = getelementptr inbounds float, ptr %"partials", i64 %".147"
  store float %".141", ptr %".148"
  br label %"k.end.1"
k.end.1:
  ret void
}

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

declare i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 %".1", i32 %".2", i32 %".3", i32 %".4")

@"sum_f32__fold.shared5" = internal addrspace(3) global [32 x float] undef
declare void @"llvm.nvvm.barrier0"()

define ptx_kernel void @"sum_f32__finish"(i64 %"n", ptr noalias readonly align 16 %"x", ptr %"partials", i32 %"blocks", ptr %"result") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca float
  %"i" = alloca i64
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  %"kk" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  %".9" = zext i32 %"blocks" to i64
  store float 0x8000000000000000, float* %"s"
  %".11" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".12" = zext i32 %".11" to i64
  store i64 %".12", i64* %"pos"
  br label %"k.head"
k.head:
  %".15" = load i64, i64* %"pos"
  %".16" = icmp ult i64 %".15", %".9"
  br i1 %".16", label %"k.loop", label %"k.done"
k.loop:
  %".18" = load float, float* %"s"
  %".19" = getelementptr inbounds float, ptr %"partials", i64 %".15"
  %".20" = load float, ptr %".19"
  %".21" = fadd float %".18", %".20"
  store float %".21", float* %"s"
  %".23" = load i64, i64* %"pos"
  %".24" = add i64 %".23", 256
  store i64 %".24", i64* %"pos"
  br label %"k.head"
k.done:
  %".27" = load float, float* %"s"
  %".28" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".29" = zext i32 %".28" to i64
  %".30" = bitcast float %".27" to i32
  %".31" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".30", i32 16, i32 31)
  %".32" = bitcast i32 %".31" to float
  %".33" = fadd float %".27", %".32"
  %".34" = bitcast float %".33" to i32
  %".35" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".34", i32 8, i32 31)
  %".36" = bitcast i32 %".35" to float
  %".37" = fadd float %".33", %".36"
  %".38" = bitcast float %".37" to i32
  %".39" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".38", i32 4, i32 31)
  %".40" = bitcast i32 %".39" to float
  %".41" = fadd float %".37", %".40"
  %".42" = bitcast float %".41" to i32
  %".43" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".42", i32 2, i32 31)
  %".44" = bitcast i32 %".43" to float
  %".45" = fadd float %".41", %".44"
  %".46" = bitcast float %".45" to i32
  %".47" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".46", i32 1, i32 31)
  %".48" = bitcast i32 %".47" to float
  %".49" = fadd float %".45", %".48"
  %".50" = and i64 %".29", 31
  %".51" = lshr i64 %".29", 5
  %".52" = icmp eq i64 %".50", 0
  br i1 %".52", label %"k.then", label %"k.end"
k.then:
  %".54" = trunc i64 %".51" to i32
  %".55" = getelementptr inbounds [32 x float], [32 x float] addrspace(3)* @"sum_f32__finish.shared8", i32 0, i32 %".54"
  store float %".49", float addrspace(3)* %".55"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".59" = trunc i64 %".50" to i32
  %".60" = getelementptr inbounds [32 x float], [32 x float] addrspace(3)* @"sum_f32__finish.shared8", i32 0, i32 %".59"
  %".61" = load float, float addrspace(3)* %".60"
  %".62" = icmp ult i64 %".50", 8
  %".63" = select  i1 %".62", float %".61", float 0x8000000000000000
  %".64" = bitcast float %".63" to i32
  %".65" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".64", i32 16, i32 31)
  %".66" = bitcast i32 %".65" to float
  %".67" = fadd float %".63", %".66"
  %".68" = bitcast float %".67" to i32
  %".69" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".68", i32 8, i32 31)
  %".70" = bitcast i32 %".69" to float
  %".71" = fadd float %".67", %".70"
  %".72" = bitcast float %".71" to i32
  %".73" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".72", i32 4, i32 31)
  %".74" = bitcast i32 %".73" to float
  %".75" = fadd float %".71", %".74"
  %".76" = bitcast float %".75" to i32
  %".77" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".76", i32 2, i32 31)
  %".78" = bitcast i32 %".77" to float
  %".79" = fadd float %".75", %".78"
  %".80" = bitcast float %".79" to i32
  %".81" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".80", i32 1, i32 31)
  %".82" = bitcast i32 %".81" to float
  %".83" = fadd float %".79", %".82"
  %".84" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".85" = zext i32 %".84" to i64
  %".86" = icmp eq i64 %".85", 0
  br i1 %".86", label %"k.then.1", label %"k.end.1"
k.then.1:
  store float              0x0, float* %"s"
  %".89" = load float, float* %"s"
  %".90" = fadd float %".89", %".83"
  store float %".90", float* %"s"
  %".92" = load float, float* %"s"
  store float %".92", ptr %"result", align 4
  ret void
k.end.1:
  ret void
}

@"sum_f32__finish.shared8" = internal addrspace(3) global [32 x float] undef
!nvvm.annotations = !{ !0, !1, !2, !3, !4, !5 }
!0 = !{ void (i64, ptr, ptr)* @"sum_f32__fold", !"maxntidx", i32 256 }
!1 = !{ void (i64, ptr, ptr)* @"sum_f32__fold", !"maxntidy", i32 1 }
!2 = !{ void (i64, ptr, ptr)* @"sum_f32__fold", !"maxntidz", i32 1 }
!3 = !{ void (i64, ptr, ptr, i32, ptr)* @"sum_f32__finish", !"maxntidx", i32 256 }
!4 = !{ void (i64, ptr, ptr, i32, ptr)* @"sum_f32__finish", !"maxntidy", i32 1 }
!5 = !{ void (i64, ptr, ptr, i32, ptr)* @"sum_f32__finish", !"maxntidz", i32 1 }